//! How many sockets one tracking link may hold open at once on this
//! instance: a link is handed out by text message and may be forwarded, so
//! one link never ties up more than a few sockets' memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Sockets at once per tracking link (the contract's limit).
pub const PER_LINK: usize = 8;

/// The sockets open per link, by the link's hash; cheap to clone.
#[derive(Clone, Default)]
pub struct LinkSockets(Arc<Mutex<HashMap<String, usize>>>);

/// One socket's place under its link's limit, given back when dropped.
pub struct LinkSlot {
    sockets: LinkSockets,
    link: String,
}

impl LinkSockets {
    /// A place for one more socket of `link`, unless it holds the most.
    pub fn claim(&self, link: &str) -> Option<LinkSlot> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(link.to_owned()).or_default();
        if *n >= PER_LINK {
            return None;
        }
        *n += 1;
        Some(LinkSlot {
            sockets: self.clone(),
            link: link.to_owned(),
        })
    }
}

impl Drop for LinkSlot {
    fn drop(&mut self) {
        let mut open = self.sockets.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.link) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.link);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_holds_at_most_eight_and_gets_places_back() {
        let s = LinkSockets::default();
        let slots: Vec<LinkSlot> = (0..PER_LINK)
            .map(|_| s.claim("a").expect("a place"))
            .collect();
        assert!(s.claim("a").is_none(), "the ninth is refused");
        assert!(s.claim("b").is_some(), "another link has its own");
        drop(slots);
        assert!(s.claim("a").is_some());
        assert!(
            s.0.lock().unwrap().get("b").is_none(),
            "emptied links are forgotten"
        );
    }
}
