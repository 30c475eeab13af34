//! HTTP/1.1 on the wire, without I/O: requests encoded to bytes, responses
//! parsed from whatever bytes have arrived (head with `httparse`, then a
//! body framed by Content-Length, chunked encoding or the end of the
//! connection).
//!
//! Why not hyper's client: it keeps a read buffer, a write buffer and a
//! request channel per connection, ~17 KB for a user that sent one request
//! and ~33 KB after a few dozen (measured, see docs/http-client.md). Here a
//! connection owns only its socket; a response borrows a worker's buffer
//! while it is read, so idle users cost almost nothing.

mod encode;
mod response;

pub use encode::{encode_request, with_cookie};
pub use response::{Keep, Parsed, ResponseParser};
