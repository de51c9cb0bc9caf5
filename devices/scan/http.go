package scan

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// Handler serves POST /v1/scans: one Read in, the devices.Result out. It
// answers 415 to a request without Content-Type: application/json.
type Handler struct {
	Checker devices.Checker
	Logger  *slog.Logger
	// Timeout bounds one check; default 5s.
	Timeout time.Duration
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST with a JSON scan")
		return
	}
	// A missing type is refused too: text/plain, form and multipart bodies
	// are what a web page may post cross-origin without asking first; only
	// application/json makes a browser ask (and be refused).
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.logger().Info("scan refused", "status", http.StatusUnsupportedMediaType, "reason", "content type")
		writeError(w, http.StatusUnsupportedMediaType, "send the scan with Content-Type: application/json")
		return
	}
	rd, err := Decode(r.Body)
	if err == nil {
		var c devices.Check
		if c, err = rd.Check(time.Now()); err == nil {
			h.check(w, r.Context(), c)
			return
		}
	}
	status := http.StatusBadRequest
	if errors.Is(err, ErrTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	h.logger().Info("scan refused", "status", status, "reason", refusalClass(err))
	writeError(w, status, err.Error())
}

func (h *Handler) check(w http.ResponseWriter, ctx context.Context, c devices.Check) {
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := h.Checker.Check(ctx, c)
	if err != nil {
		h.logger().Error("check failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the check could not be recorded; retry later")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// refusalClass names the kind of refusal for logs without the value read.
func refusalClass(err error) string {
	switch {
	case errors.Is(err, ErrTooLarge):
		return "too large"
	case errors.Is(err, ErrInvalid):
		return "invalid field"
	default:
		return "malformed"
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
