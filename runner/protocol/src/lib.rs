//! The runner protocol: the JSON types the bot and the runner exchange over
//! `/api/runner/v1/*`. Both sides depend on this crate; never copy these types.

/// Version of the protocol spoken by this build; sent by the runner on register.
pub const PROTOCOL_VERSION: u32 = 1;
