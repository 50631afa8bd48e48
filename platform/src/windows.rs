//! The Win32 calls behind the crate's portable functions. Every `unsafe`
//! block of the workspace that is not inside a dependency is in this file.

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::{define_windows_service, service_dispatcher};
use windows_sys::Win32::Foundation::{ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1, SE_FILE_OBJECT,
    SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR,
};
use windows_sys::Win32::Storage::FileSystem::{
    MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH, MoveFileExW,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{MB_ICONERROR, MB_OK, MessageBoxW};

/// A NUL-terminated UTF-16 string for Win32.
fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

pub(crate) fn move_write_through(from: &Path, to: &Path) -> io::Result<()> {
    let (f, t) = (wide(from.as_os_str()), wide(to.as_os_str()));
    // SAFETY: both pointers are NUL-terminated UTF-16 strings that outlive the call.
    let ok = unsafe {
        MoveFileExW(
            f.as_ptr(),
            t.as_ptr(),
            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
        )
    };
    if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Owner (OW), SYSTEM (SY) and Administrators (BA) get full control; the
/// DACL is protected (P), so nothing is inherited from the folder.
const OWNER_ONLY: &str = "D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)";

pub(crate) fn restrict_to_owner(path: &Path) -> io::Result<()> {
    let sddl = wide(OsStr::new(OWNER_ONLY));
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `sddl` is NUL-terminated; on success `sd` points to a
    // descriptor allocated by the system, freed below with LocalFree.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut present = 0;
    let mut defaulted = 0;
    let mut dacl: *mut ACL = std::ptr::null_mut();
    // SAFETY: `sd` is the valid descriptor made above; the out-pointers are
    // locals. `dacl` points into `sd`, which lives until LocalFree below.
    let result = unsafe {
        if GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted) == 0 {
            Err(io::Error::last_os_error())
        } else {
            let name = wide(path.as_os_str());
            match SetNamedSecurityInfoW(
                name.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                dacl,
                std::ptr::null(),
            ) {
                0 => Ok(()),
                // FAT-formatted USB sticks keep no ACLs: nothing to restrict
                // (an officer's key file there is protected by its passphrase).
                ERROR_NOT_SUPPORTED | ERROR_INVALID_FUNCTION => Ok(()),
                e => Err(io::Error::from_raw_os_error(e as i32)),
            }
        }
    };
    // SAFETY: `sd` was allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
    unsafe { LocalFree(sd) };
    result
}

pub(crate) fn message_box(title: &str, text: &str) {
    let (t, c) = (wide(OsStr::new(text)), wide(OsStr::new(title)));
    // SAFETY: both strings are NUL-terminated and outlive the (modal) call.
    unsafe {
        MessageBoxW(
            std::ptr::null_mut(),
            t.as_ptr(),
            c.as_ptr(),
            MB_OK | MB_ICONERROR,
        );
    }
}

/// What `run_service` was given: the service control manager calls the
/// generated `ffi_service_main` without arguments of ours.
static SERVICE: OnceLock<(&'static str, super::service::Main)> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

pub(crate) fn run_service(name: &'static str, main: super::service::Main) -> Result<(), String> {
    if SERVICE.set((name, main)).is_err() {
        return Err("the service was already started in this process".into());
    }
    service_dispatcher::start(name, ffi_service_main)
        .map_err(|e| format!("not started by the service control manager: {e}"))
}

fn service_main(_args: Vec<std::ffi::OsString>) {
    let Some(&(name, main)) = SERVICE.get() else {
        return;
    };
    let (stop_tx, stop_rx) = mpsc::channel();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            let _ = stop_tx.send(());
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(status) = service_control_handler::register(name, handler) else {
        return;
    };
    let report = |state, accepted, code| {
        let _ = status.set_service_status(ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: accepted,
            exit_code: ServiceExitCode::Win32(code),
            checkpoint: 0,
            wait_hint: Duration::from_secs(10),
            process_id: None,
        });
    };
    report(
        ServiceState::Running,
        ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
        0,
    );
    // A failure is logged by `main`; a non-zero exit code lets the service's
    // recovery settings restart it.
    let code = match main(stop_rx) {
        Ok(()) => 0,
        Err(_) => 1,
    };
    report(ServiceState::Stopped, ServiceControlAccept::empty(), code);
}
