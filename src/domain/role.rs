//! Who is asking, as their credential proves.

use super::CarrierId;

/// The role a bearer credential grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    Dispatcher { name: String },
    Carrier(CarrierId),
}

impl Role {
    /// Admins may do everything a dispatcher may.
    pub fn dispatches(&self) -> bool {
        matches!(self, Role::Admin | Role::Dispatcher { .. })
    }
}
