//! Progress on stderr for work that takes more than a moment: shown only when stderr is a
//! terminal, not with `--quiet`, and only after the work has run for a little while.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long work runs before its progress appears.
const DELAY: Duration = Duration::from_millis(400);

/// A spinner or bar that clears itself when dropped.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A spinner with a message (e.g. "reading input.npy").
    pub fn spinner(quiet: bool, message: String) -> Progress {
        Progress::start(
            quiet,
            ProgressBar::new_spinner(),
            "{spinner} {msg} {elapsed}",
            message,
        )
    }

    /// A bar over `len` steps (e.g. the arrays of a store).
    pub fn bar(quiet: bool, len: u64, message: String) -> Progress {
        Progress::start(
            quiet,
            ProgressBar::new(len),
            "{msg} [{bar:30}] {pos}/{len} {elapsed}",
            message,
        )
    }

    fn start(quiet: bool, pb: ProgressBar, template: &str, message: String) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        pb.set_draw_target(ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(template) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(message);
        let shown = pb.clone();
        std::thread::spawn(move || {
            std::thread::sleep(DELAY);
            if !shown.is_finished() {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress(Some(pb))
    }

    /// Changes the message.
    pub fn set_message(&self, message: String) {
        if let Some(pb) = &self.0 {
            pb.set_message(message);
        }
    }

    /// Advances a bar.
    pub fn inc(&self) {
        if let Some(pb) = &self.0 {
            pb.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}
