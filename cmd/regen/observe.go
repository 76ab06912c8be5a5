package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// newTracerProvider returns the tracer provider the standard OTEL_*
// environment variables ask for, and the function that flushes and stops
// it (within tracingShutdown). OTEL_TRACES_EXPORTER unset or "none": nil (no spans, at no cost);
// "console": each span printed to stdout as JSON when it ends; "otlp" (and
// the others autoexport knows): exported in batches, over HTTP or gRPC as
// OTEL_EXPORTER_OTLP_PROTOCOL says, to OTEL_EXPORTER_OTLP_ENDPOINT.
// OTEL_SERVICE_NAME names the service ("regen" if unset), and
// OTEL_RESOURCE_ATTRIBUTES adds attributes.
func newTracerProvider(ctx context.Context, stdout io.Writer) (trace.TracerProvider, func(), error) {
	kind := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))
	if kind == "" || kind == "none" {
		return nil, func() {}, nil
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", serviceName())))
	if err != nil {
		return nil, nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	var opt sdktrace.TracerProviderOption
	if kind == "console" {
		// Printed where regen serve prints, as each span ends.
		exp, err := stdouttrace.New(stdouttrace.WithWriter(stdout), stdouttrace.WithPrettyPrint())
		if err != nil {
			return nil, nil, err
		}
		opt = sdktrace.WithSyncer(exp)
	} else {
		exp, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: %w", kind, err)
		}
		opt = sdktrace.WithBatcher(exp)
	}
	tp := sdktrace.NewTracerProvider(opt, sdktrace.WithResource(res))
	stop := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingShutdown)
		defer cancel()
		_ = tp.Shutdown(ctx) // spans not exported by then are lost
	}
	return tp, stop, nil
}

// tracingShutdown bounds the export of the last spans at exit.
const tracingShutdown = 5 * time.Second

// serviceName is OTEL_SERVICE_NAME, or "regen".
func serviceName() string {
	if s := os.Getenv("OTEL_SERVICE_NAME"); s != "" {
		return s
	}
	return "regen"
}

// traced returns h reading each request's W3C trace context (traceparent,
// tracestate, baggage: OpenTelemetry's default propagators) when tracing is
// on, so that regen's spans join the trace of whoever sent the request (a
// load balancer, a CDN); without tracing, h itself.
func traced(h http.Handler, tp trace.TracerProvider) http.Handler {
	if tp == nil {
		return h
	}
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))))
	})
}
