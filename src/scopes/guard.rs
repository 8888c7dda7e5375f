//! The state of a guard's future, shared by [`RequireScopesFuture`](super::RequireScopesFuture)
//! and [`OperationScopesFuture`](crate::mcp::OperationScopesFuture): the inner service's future
//! when the request was allowed at once, the refusal, or (when it had to wait) both in turn.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use pin_project_lite::pin_project;

/// What a guard's future waits for, boxed: verifying (and reading a body), then the inner service.
pub(crate) type Waiting = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project! {
    #[project = Projection]
    pub(crate) enum GuardState<F> {
        // Allowed at once: the inner service's future.
        Inner { #[pin] future: F },
        // Refused at once, until returned.
        Refused { response: Option<Response> },
        // Verifying, then the inner service.
        Waiting { future: Waiting },
    }
}

impl<F> GuardState<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    pub(crate) fn poll_state(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.project() {
            Projection::Inner { future } => future.poll(cx),
            Projection::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled after it completed, against the `Future` contract: no second refusal
                // to give, and no panic either.
                None => Poll::Ready(Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response())),
            },
            Projection::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F> GuardState<F> {
    /// The state's name, for `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Inner { .. } => "Inner",
            Self::Refused { .. } => "Refused",
            Self::Waiting { .. } => "Waiting",
        }
    }
}
