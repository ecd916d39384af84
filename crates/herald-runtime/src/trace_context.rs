//! W3C trace context across hops: the `traceparent` of an incoming request becomes the parent of
//! the handling span, and the context to hand on is read back from the current span.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";

/// Makes `traceparent` (when valid) the parent of `span`.
pub fn adopt(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent.filter(|t| is_valid(t)) else {
        return;
    };
    let carrier = HashMap::from([(TRACEPARENT.to_string(), traceparent.to_string())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    // Without the OpenTelemetry layer (no OTLP endpoint) there is nothing to parent: `outgoing`
    // then hands the incoming context on unchanged, so the trace still survives the hop.
    if let Err(err) = span.set_parent(context) {
        tracing::trace!(error = %err, "incoming trace context not adopted");
    }
}

/// The trace context to hand on from `span`: its own when spans are exported, otherwise the
/// `incoming` one passed through unchanged, so a trace survives hops that export nothing.
pub fn outgoing(span: &tracing::Span, incoming: Option<&str>) -> Option<String> {
    let context = span.context();
    if context.span().span_context().is_valid() {
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&context, &mut carrier);
        if let Some(tp) = carrier.remove(TRACEPARENT) {
            return Some(tp);
        }
    }
    incoming.filter(|t| is_valid(t)).map(str::to_string)
}

/// `version-traceid-parentid-flags`, lowercase hex, with non-zero ids (W3C Trace Context §3.2).
pub fn is_valid(traceparent: &str) -> bool {
    let parts: Vec<&str> = traceparent.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    parts.len() == 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && parts[1].bytes().any(|b| b != b'0')
        && hex(parts[2], 16)
        && parts[2].bytes().any(|b| b != b'0')
        && hex(parts[3], 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_traceparent() {
        assert!(is_valid(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        ));
        assert!(!is_valid(
            "00-00000000000000000000000000000000-b7ad6b7169203331-01"
        ));
        assert!(!is_valid(
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"
        ));
        assert!(!is_valid("garbage"));
    }

    #[test]
    fn passes_incoming_through_when_nothing_is_exported() {
        let span = tracing::info_span!("test");
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert_eq!(outgoing(&span, Some(tp)).as_deref(), Some(tp));
        assert_eq!(outgoing(&span, Some("bad")), None);
    }
}
