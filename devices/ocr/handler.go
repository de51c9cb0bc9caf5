package ocr

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/internal/readhttp"
)

// Path is where the agent mounts Handler.
const Path = "/v1/ocr"

// Handler defaults, used where a field is left zero.
const (
	DefaultReadTimeout = readhttp.DefaultReadTimeout
	DefaultMaxInFlight = readhttp.DefaultMaxInFlight
)

// Handler serves POST /v1/ocr: a body holding one JSON read (see
// ParseJSON) or a JSON array of 1 to MaxBatch reads. It answers
//
//   - 200 with a devices.Result for one read, or for an array a list of
//     {"index": i, "result": {...}} or {"index": i, "error": {...}}, one
//     per read in order: each read is checked on its own;
//   - 400 with {"error": {"field": "...", "message": "..."}} when the body
//     or the single read is refused, the field naming what is wrong; a
//     container number whose check digit fails and cannot be repaired gives
//     field "value" and a message naming the check digit expected;
//   - 413 when the body exceeds MaxBodyBytes, a read exceeds MaxReadBytes
//     or an array holds more than MaxBatch reads;
//   - 405, 415, 408 for a wrong method, a content type other than
//     application/json (a missing one too), or a body that does not
//     arrive within ReadTimeout; 503 when MaxInFlight requests are being
//     served (so one flooding OCR system cannot queue work for the others);
//     500 when the Checker fails.
//
// Set the fields before serving and do not change them afterwards.
type Handler struct {
	// Checker receives one Check per accepted read. Required.
	Checker devices.Checker
	// Device is Check.Device for reads that name no device.
	Device string
	// MaxBodyBytes limits the request body; zero means MaxBodyBytes.
	MaxBodyBytes int64
	// ReadTimeout bounds reading the body; zero means DefaultReadTimeout.
	// The agent's http.Server should set its own header and idle timeouts.
	ReadTimeout time.Duration
	// MaxInFlight bounds requests served at once; zero means
	// DefaultMaxInFlight.
	MaxInFlight int
	// Logger receives refusals (without values) and Checker failures; nil
	// means slog.Default().
	Logger *slog.Logger

	now   func() time.Time // time.Now unless a test sets it
	once  sync.Once
	serve *readhttp.Handler[Read]
}

// ServeHTTP implements http.Handler; see Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		limit := h.MaxBodyBytes
		if limit <= 0 {
			limit = MaxBodyBytes
		}
		h.serve = &readhttp.Handler[Read]{
			Source: "ocr", Parse: ParseJSON, MaxBatch: MaxBatch, MaxBodyBytes: limit,
			Checker: h.Checker, Device: h.Device, ReadTimeout: h.ReadTimeout, MaxInFlight: h.MaxInFlight,
			Logger: h.Logger, Now: h.now,
		}
	})
	h.serve.ServeHTTP(w, r)
}
