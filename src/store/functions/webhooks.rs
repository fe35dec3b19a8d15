//! The webhook delivery functions (`lua/webhooks.lua`).

use crate::store::keys;

use super::Function;

/// Turns one outbox entry into its deliveries and lets the entry go.
#[derive(Debug, Clone)]
pub struct Enqueue<'a> {
    pub partition: u16,
    pub group: &'a str,
    pub entry_id: &'a str,
    pub now_ms: i64,
    /// Its deliveries (argv after `now_ms`, five each).
    pub items: &'a [EnqueueItem],
}

/// One delivery an outbox entry makes.
#[derive(Debug, Clone)]
pub struct EnqueueItem {
    pub id: String,
    /// Its order's line to its endpoint.
    pub line: String,
    /// Its endpoint's list in the partition.
    pub list: String,
    /// Its rank in that list.
    pub at: i64,
    /// The delivery's record.
    pub json: String,
}

impl Function for Enqueue<'_> {
    const NAME: &'static str = "enqueue";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "outbox", "deliveries", "due",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "group", "entry_id", "now_ms",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::outbox(self.partition),
            keys::deliveries(self.partition),
            keys::due(self.partition),
        ]
    }

    fn argv(&self) -> Vec<String> {
        let mut argv = vec![
            self.group.to_owned(),
            self.entry_id.to_owned(),
            self.now_ms.to_string(),
        ];
        for i in self.items {
            argv.extend([
                i.id.clone(),
                i.line.clone(),
                i.list.clone(),
                i.at.to_string(),
                i.json.clone(),
            ]);
        }
        argv
    }
}

/// Takes the partition's deliveries due, leasing each.
#[derive(Debug, Clone)]
pub struct Take {
    pub partition: u16,
    pub now_ms: i64,
    pub lease_ms: i64,
    pub limit: usize,
}

impl Function for Take {
    const NAME: &'static str = "take";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "due", "deliveries",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "now_ms", "lease_ms", "limit",
    ];

    fn keys(&self) -> Vec<String> {
        vec![keys::due(self.partition), keys::deliveries(self.partition)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.now_ms.to_string(),
            self.lease_ms.to_string(),
            self.limit.to_string(),
        ]
    }
}

/// Records an attempt; `next_ms` when it is to be tried again. Not
/// recorded when the delivery is no longer held with `lease_ms`.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub partition: u16,
    pub id: &'a str,
    pub json: &'a str,
    pub next_ms: Option<i64>,
    pub line: &'a str,
    pub now_ms: i64,
    pub lease_ms: i64,
}

impl Function for Attempt<'_> {
    const NAME: &'static str = "attempt";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "deliveries", "due",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "id", "json", "next_ms", "line", "now_ms", "lease_ms",
    ];

    fn keys(&self) -> Vec<String> {
        vec![keys::deliveries(self.partition), keys::due(self.partition)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.id.to_owned(),
            self.json.to_owned(),
            self.next_ms.map(|n| n.to_string()).unwrap_or_default(),
            self.line.to_owned(),
            self.now_ms.to_string(),
            self.lease_ms.to_string(),
        ]
    }
}

/// Forgets an endpoint's finished deliveries in a partition made before
/// `before` (a rank of its list), up to `most`.
#[derive(Debug, Clone)]
pub struct ForgetDeliveries<'a> {
    pub partition: u16,
    pub webhook: &'a str,
    pub before: i64,
    pub most: usize,
}

impl Function for ForgetDeliveries<'_> {
    const NAME: &'static str = "forget_deliveries";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "list", "deliveries",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "before", "most",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::webhook_deliveries(self.partition, self.webhook),
            keys::deliveries(self.partition),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![self.before.to_string(), self.most.to_string()]
    }
}

/// Puts a failed delivery back at the end of its line.
#[derive(Debug, Clone)]
pub struct Redeliver<'a> {
    pub partition: u16,
    pub id: &'a str,
    pub json: &'a str,
    pub line: &'a str,
    pub now_ms: i64,
}

impl Function for Redeliver<'_> {
    const NAME: &'static str = "redeliver";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "deliveries", "due",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "id", "json", "line", "now_ms",
    ];

    fn keys(&self) -> Vec<String> {
        vec![keys::deliveries(self.partition), keys::due(self.partition)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.id.to_owned(),
            self.json.to_owned(),
            self.line.to_owned(),
            self.now_ms.to_string(),
        ]
    }
}
