; The Windows installer of tally: tally.exe (node and command line),
; tally-app.exe (the officers' app, in the Start menu), the node as the
; Windows service "tally" with its replica in C:\ProgramData\tally, and
; firewall rules for the sync port and mDNS. Uninstalling keeps the replica.
;
; Built by scripts/package:
;   makensis -INPUTCHARSET UTF8 -DVERSION=0.1.0 -DSRC=DIR -DOUT=FILE packaging/windows/tally.nsi

; A 64-bit installer (tally itself is 64-bit only): it also runs under a
; 64-bit-only Wine, where the tests run it.
Target amd64-unicode
!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"

!ifndef VERSION
  !error "VERSION is not defined (-DVERSION=...)"
!endif
!ifndef SRC
  !error "SRC (the folder of tally.exe and tally-app.exe) is not defined"
!endif
!ifndef OUT
  !define OUT "tally-setup-${VERSION}-x86_64.exe"
!endif

Name "tally 劳动改造计分 ${VERSION}"
OutFile "${OUT}"
InstallDir "$PROGRAMFILES64\tally"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
ShowInstDetails show

!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\tally"
!define SYNC_PORT 7700

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "SimpChinese"
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "tally 需要 64 位 Windows 10 或 11。$\r$\ntally needs 64-bit Windows 10 or 11."
    Abort
  ${EndIf}
  SetRegView 64
FunctionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

Section "tally"
  ; C:\ProgramData for $APPDATA, the all-users Start menu.
  SetShellVarContext all
  ; An upgrade: the running service holds tally.exe open.
  nsExec::ExecToLog 'sc.exe stop tally'
  Sleep 2000

  SetOutPath "$INSTDIR"
  File "${SRC}\tally.exe"
  File "${SRC}\tally-app.exe"
  File "/oname=README.md" "${SRC}\README.md"

  ; The replica, shared by the service (SYSTEM) and every officer's app
  ; (Users): Users may create and change files there, and what they create
  ; stays shared (inherited by files and folders).
  CreateDirectory "$APPDATA\tally"
  CreateDirectory "$APPDATA\tally\logs"
  nsExec::ExecToLog 'icacls "$APPDATA\tally" /grant *S-1-5-32-545:(OI)(CI)M'
  ${IfNot} ${FileExists} "$APPDATA\tally\node.toml"
    SetOutPath "$APPDATA\tally"
    File "node.toml"
    SetOutPath "$INSTDIR"
  ${EndIf}

  ; The node as a service: starts with Windows, restarted after a failure.
  ; It waits until the IT officer has run `tally init --authority FILE`.
  nsExec::ExecToLog 'sc.exe create tally binPath= "\"$INSTDIR\tally.exe\" --data \"$APPDATA\tally\" node service" start= auto DisplayName= "tally node"'
  nsExec::ExecToLog 'sc.exe config tally binPath= "\"$INSTDIR\tally.exe\" --data \"$APPDATA\tally\" node service" start= auto'
  nsExec::ExecToLog 'sc.exe description tally "tally: signed labor records and peer-to-peer sync (劳动改造计分)"'
  nsExec::ExecToLog 'sc.exe failure tally reset= 86400 actions= restart/10000/restart/10000/restart/60000'

  ; Windows Firewall: the sync port and mDNS, for tally.exe only.
  nsExec::ExecToLog 'netsh advfirewall firewall delete rule name="tally sync"'
  nsExec::ExecToLog 'netsh advfirewall firewall delete rule name="tally mDNS"'
  nsExec::ExecToLog 'netsh advfirewall firewall add rule name="tally sync" dir=in action=allow protocol=UDP localport=${SYNC_PORT} program="$INSTDIR\tally.exe"'
  nsExec::ExecToLog 'netsh advfirewall firewall add rule name="tally mDNS" dir=in action=allow protocol=UDP localport=5353 program="$INSTDIR\tally.exe"'

  CreateDirectory "$SMPROGRAMS\tally"
  CreateShortcut "$SMPROGRAMS\tally\劳动改造计分 tally.lnk" "$INSTDIR\tally-app.exe"
  CreateShortcut "$SMPROGRAMS\tally\卸载 Uninstall tally.lnk" "$INSTDIR\uninstall.exe"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "tally 劳动改造计分"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "tally"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1

  nsExec::ExecToLog 'sc.exe start tally'
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  nsExec::ExecToLog 'sc.exe stop tally'
  Sleep 2000
  nsExec::ExecToLog 'sc.exe delete tally'
  nsExec::ExecToLog 'netsh advfirewall firewall delete rule name="tally sync"'
  nsExec::ExecToLog 'netsh advfirewall firewall delete rule name="tally mDNS"'
  Delete "$INSTDIR\tally.exe"
  Delete "$INSTDIR\tally-app.exe"
  Delete "$INSTDIR\README.md"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\tally\劳动改造计分 tally.lnk"
  Delete "$SMPROGRAMS\tally\卸载 Uninstall tally.lnk"
  RMDir "$SMPROGRAMS\tally"
  DeleteRegKey HKLM "${UNINST_KEY}"
  ; C:\ProgramData\tally (the replica, keys, logs) is kept: it is the
  ; prison's signed record, removed by hand only once archived.
SectionEnd
