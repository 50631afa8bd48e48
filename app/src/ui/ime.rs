//! Chinese typed through an input method (IME): names, reasons and the
//! procedure type-ahead are composed (pinyin → 李), and the Enter or Tab that
//! confirms a composition belongs to the input method, not to the app.
//!
//! egui 0.37 draws the composition inline (`ImeEvent::Preedit`) and inserts
//! the result (`ImeEvent::Commit`); on Windows egui-winit already drops the
//! keys the IME consumed, but other integrations (X11 with XIM, some
//! Wayland compositors) deliver the confirming Enter as a key press too, in
//! the commit's frame or while the composition is open. A single-line text
//! field ends editing on Enter and the entry grid moves to the next row on
//! it: so such keys are removed before any widget sees them.

use eframe::egui::{Event, ImeEvent, Key};

/// Whether a composition is open across frames, and when the last ended.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ImeGuard {
    composing: bool,
    /// When (egui time, seconds) a composition was last committed, until a
    /// confirming key has been taken for it.
    committed_at: Option<f64>,
}

/// The keys an input method uses to confirm or move within a composition.
fn confirms(key: Key) -> bool {
    matches!(key, Key::Enter | Key::Tab | Key::Escape)
}

/// How soon after a commit a confirming key is still the input method's:
/// integrations deliver the commit and the key in one frame or in the next
/// (egui_kittest: one event a frame); no one presses Enter on purpose that
/// soon after choosing a word.
const AFTER_COMMIT_SECS: f64 = 0.1;

impl ImeGuard {
    /// Removes from one frame's events (at egui time `now`) the Enter, Tab
    /// and Escape presses that belong to a composition: while one is open,
    /// and the first one within [`AFTER_COMMIT_SECS`] of its commit. Returns
    /// how many were removed.
    pub fn filter(&mut self, events: &mut Vec<Event>, now: f64) -> usize {
        let before = events.len();
        let mut composing = self.composing;
        let mut committed_at = self.committed_at;
        events.retain(|e| match e {
            Event::Ime(ImeEvent::Preedit { text, .. }) => {
                composing = !text.is_empty();
                true
            }
            Event::Ime(ImeEvent::Commit(_)) => {
                composing = false;
                committed_at = Some(now);
                true
            }
            Event::Key { key, pressed, .. } if confirms(*key) => {
                if composing {
                    return false;
                }
                match committed_at {
                    Some(t) if now - t <= AFTER_COMMIT_SECS => {
                        // The key's release goes too; the next press is the app's.
                        if !*pressed {
                            committed_at = None;
                        }
                        false
                    }
                    _ => true,
                }
            }
            _ => true,
        });
        if committed_at.is_some_and(|t| now - t > AFTER_COMMIT_SECS) {
            committed_at = None;
        }
        self.composing = composing;
        self.committed_at = committed_at;
        before - events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eframe::egui::Modifiers;

    fn enter(pressed: bool) -> Event {
        Event::Key {
            key: Key::Enter,
            physical_key: None,
            pressed,
            repeat: false,
            modifiers: Modifiers::NONE,
        }
    }

    fn preedit(t: &str) -> Event {
        Event::Ime(ImeEvent::Preedit {
            text: t.into(),
            active_range_chars: None,
        })
    }

    #[test]
    fn enter_confirming_a_composition_is_the_input_methods() {
        let mut g = ImeGuard::default();
        // Composing "li": an Enter in a later frame confirms it (the commit
        // may come in that frame or the next).
        let mut f1 = vec![preedit("li")];
        assert_eq!(g.filter(&mut f1, 1.0), 0);
        assert!(g.composing);
        let mut f2 = vec![enter(true)];
        assert_eq!(g.filter(&mut f2, 2.0), 1, "Enter while composing");
        assert!(f2.is_empty());
        // The commit and its Enter in one frame: the Enter goes.
        let mut f3 = vec![Event::Ime(ImeEvent::Commit("李".into())), enter(true)];
        assert_eq!(g.filter(&mut f3, 3.0), 1);
        assert_eq!(f3, vec![Event::Ime(ImeEvent::Commit("李".into()))]);
        assert!(!g.composing);
        // Its release in the next frame too; then Enter is the app's again,
        // however soon.
        let mut f4 = vec![enter(false)];
        assert_eq!(g.filter(&mut f4, 3.016), 1);
        let mut f5 = vec![enter(true)];
        assert_eq!(g.filter(&mut f5, 3.033), 0);
        assert_eq!(f5.len(), 1);
    }

    #[test]
    fn the_enter_in_the_frame_after_the_commit_is_the_input_methods() {
        let mut g = ImeGuard::default();
        let mut f = vec![preedit("rong")];
        g.filter(&mut f, 1.0);
        let mut f = vec![Event::Ime(ImeEvent::Commit("镕".into()))];
        g.filter(&mut f, 1.2);
        let mut f = vec![enter(true)];
        assert_eq!(g.filter(&mut f, 1.216), 1, "16 ms after the commit");
        // A deliberate Enter a moment after a commit is the app's.
        let mut f = vec![Event::Ime(ImeEvent::Commit("李".into()))];
        g.filter(&mut f, 5.0);
        let mut f = vec![enter(true)];
        assert_eq!(g.filter(&mut f, 5.4), 0, "400 ms later");
    }

    #[test]
    fn an_emptied_composition_ends_it_and_text_keys_pass() {
        let mut g = ImeGuard::default();
        let mut f = vec![preedit("r"), preedit(""), enter(true)];
        assert_eq!(
            g.filter(&mut f, 1.0),
            0,
            "the composition was dismissed first"
        );
        assert!(!g.composing);
        let mut f = vec![preedit("rong"), Event::Text("x".into())];
        assert_eq!(g.filter(&mut f, 2.0), 0, "only confirming keys are taken");
    }
}
