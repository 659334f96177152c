//! A deadline for reading a request's body: a client that trickles a body (a byte now and then,
//! forever) would otherwise hold its connection and the handler waiting on it for as long as it
//! likes — on `POST /console/sign-in` without even a token.
//!
//! The design decision: one deadline for the whole body, counted from when the request's headers
//! arrived, not a timeout per read (which a byte every few seconds would keep resetting). A body
//! still incomplete at the deadline ends in a [`BodyTimeout`] error; the extractors that read
//! bodies answer it with 408, and hyper closes a connection whose request body was not read to
//! its end.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use http_body::{Frame, SizeHint};

/// The error a request body ends with when it is still incomplete at its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub struct BodyTimeout(pub Duration);

/// `request` with its body bounded by `limit` from now. A request without a body is left as it
/// is (no timer for a `GET`).
pub fn bound_body(request: Request, limit: Duration) -> Request {
    if http_body::Body::is_end_stream(request.body()) {
        return request;
    }
    request.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        })
    })
}

/// Whether `error` (or an error it wraps) is a [`BodyTimeout`]: how an extractor's rejection is
/// told apart from other failures to read a body.
pub fn timed_out<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyTimeout> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(timeout) = e.downcast_ref::<BodyTimeout>() {
            return Some(timeout);
        }
        current = e.source();
    }
    None
}

/// A body that fails with [`BodyTimeout`] once `deadline` passes before its end.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimeout(this.limit))))),
                Poll::Pending => Poll::Pending,
            },
            ready => ready,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A timeout is found however deeply it is wrapped; other errors are not timeouts.
    #[test]
    fn timeouts_are_found_in_wrapped_errors() {
        let wrapped = axum::Error::new(BodyTimeout(Duration::from_secs(3)));
        assert!(timed_out(&wrapped).is_some());
        let other = axum::Error::new(std::io::Error::other("reset"));
        assert!(timed_out(&other).is_none());
    }
}
