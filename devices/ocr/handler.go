package ocr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// Path is where the agent mounts Handler.
const Path = "/v1/ocr"

// Handler defaults, used where a field is left zero.
const (
	DefaultReadTimeout = 10 * time.Second
	DefaultMaxInFlight = 16
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
//   - 405, 415, 408 for a wrong method, content type or a body that does not
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

	now      func() time.Time // time.Now unless a test sets it
	once     sync.Once
	inFlight chan struct{}
}

// errorBody is the JSON body of an error answer.
type errorBody struct {
	Error apiError `json:"error"`
}

// apiError describes one refused read or request to its sender.
type apiError struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// batchEntry is the answer for one read of an array.
type batchEntry struct {
	Index  int             `json:"index"`
	Result *devices.Result `json:"result,omitempty"`
	Error  *apiError       `json:"error,omitempty"`
}

func (h *Handler) init() {
	n := h.MaxInFlight
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	h.inFlight = make(chan struct{}, n)
	if h.now == nil {
		h.now = time.Now
	}
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeHTTP implements http.Handler; see Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "", "method: use POST")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "", "content type: use application/json")
			return
		}
	}
	select {
	case h.inFlight <- struct{}{}:
		defer func() { <-h.inFlight }()
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "", "busy: too many requests in flight, retry")
		return
	}

	timeout := h.ReadTimeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	// Not every ResponseWriter supports deadlines (httptest's does not);
	// the agent's server then relies on its own ReadTimeout.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = MaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		// The deadline stays: net/http drains the rest of the body before
		// answering, and must not wait for a stalled client.
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("body: %v: at most %d bytes", ErrTooLarge, limit))
		case errors.Is(err, os.ErrDeadlineExceeded):
			writeError(w, http.StatusRequestTimeout, "", "body: not received in time")
		default:
			writeError(w, http.StatusBadRequest, "", "body: could not be read")
		}
		return
	}
	// Clear the deadline so that it cannot cut the connection's next
	// request short when the server sets no read timeout of its own.
	_ = rc.SetReadDeadline(time.Time{})

	reads, batch, err := decodeBody(body)
	if err != nil {
		h.logger().Debug("ocr: request refused", "remote", r.RemoteAddr, "err", err)
		writeReadError(w, err)
		return
	}
	if !batch {
		res, err := h.check(r.Context(), reads[0])
		if err != nil {
			if errors.Is(err, ErrCheck) {
				writeError(w, http.StatusInternalServerError, "", ErrCheck.Error())
				return
			}
			h.logger().Debug("ocr: read refused", "remote", r.RemoteAddr, "err", err)
			writeReadError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
		return
	}
	out := make([]batchEntry, len(reads))
	for i, br := range reads {
		out[i].Index = i
		res, err := h.check(r.Context(), br)
		if err != nil {
			e := toAPIError(err)
			out[i].Error = &e
			continue
		}
		out[i].Result = &res
	}
	writeJSON(w, http.StatusOK, out)
}

// check converts one decoded read and hands it to the Checker. A Checker
// failure comes back as ErrCheck, its detail logged here.
func (h *Handler) check(ctx context.Context, br bodyRead) (devices.Result, error) {
	if br.err != nil {
		return devices.Result{}, br.err
	}
	c, err := br.read.Check(h.Device, h.now())
	if err != nil {
		return devices.Result{}, err
	}
	res, err := h.Checker.Check(ctx, c)
	if err != nil {
		h.logger().Error("ocr: check failed", "device", c.Device, "err", err)
		return devices.Result{}, ErrCheck
	}
	if res.Hits == nil {
		res.Hits = []devices.Hit{}
	}
	return res, nil
}

// toAPIError splits err into the field it names and its message.
func toAPIError(err error) apiError {
	var fe *FieldError
	if errors.As(err, &fe) {
		return apiError{Field: fe.Field, Message: fe.Error()}
	}
	return apiError{Message: err.Error()}
}

// writeReadError answers a refused body or read: 413 when the read as a
// whole is too large, 400 otherwise.
func writeReadError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	var fe *FieldError
	if errors.As(err, &fe) && fe.Field == "" && errors.Is(err, ErrTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	e := toAPIError(err)
	writeJSON(w, status, errorBody{Error: e})
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, errorBody{Error: apiError{Field: field, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
