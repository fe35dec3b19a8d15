//! JT/T 808 (2013 and 2019 editions) over TCP: the frame codec and
//! message bodies (pure), and the listener whose sessions register,
//! authenticate and take terminals' reports.

pub mod frame;
pub mod message;
mod parts;
mod session;

pub use session::{Listener, listen};
