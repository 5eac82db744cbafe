package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"kcc/flows"
	"kcc/incident"
)

// Flows is what the admin API does with flow versions.
type Flows interface {
	Status() []flows.Status
	Reload() ([]flows.Version, error)
	Rollback(flow string) (flows.Version, error)
	Unpin(flow string) ([]flows.Version, error)
}

// Incidents is the incident board the admin API sets.
type Incidents interface {
	Set(m incident.Message, now time.Time) error
	Clear(slot string) bool
	List(now time.Time) []incident.Message
}

// Auditor keeps the audit trail of admin changes (package history writes
// it to the store). It must not block.
type Auditor interface {
	Audit(who, what string, details any, at time.Time)
}

// Config is the server's configuration.
type Config struct {
	Listen     string // host:port
	AdminToken string // empty: admin calls refused
	Now        func() time.Time
	Audit      Auditor // nil: changes are only logged
}

// maxBody bounds request bodies: admin calls carry a few hundred bytes.
const maxBody = 64 << 10

// Server serves the API. Build it with New (which binds the socket), then
// Run it.
type Server struct {
	cfg       Config
	log       zerolog.Logger
	flows     Flows
	incidents Incidents
	ln        net.Listener
	http      *http.Server
}

// New binds cfg.Listen and returns the server.
func New(cfg Config, f Flows, inc Incidents, log zerolog.Logger) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{cfg: cfg, log: log, flows: f, incidents: inc, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("GET /api/v1/flows", s.admin(s.flowStatus))
	mux.Handle("POST /api/v1/flows/reload", s.admin(s.flowReload))
	mux.Handle("POST /api/v1/flows/{flow}/rollback", s.admin(s.flowRollback))
	mux.Handle("POST /api/v1/flows/{flow}/unpin", s.admin(s.flowUnpin))
	mux.Handle("GET /api/v1/incidents", s.admin(s.incidentList))
	mux.Handle("PUT /api/v1/incidents/{slot}", s.admin(s.incidentSet))
	mux.Handle("DELETE /api/v1/incidents/{slot}", s.admin(s.incidentClear))
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	return s, nil
}

// Close releases the socket of a server that never ran.
func (s *Server) Close() error { return s.ln.Close() }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx is done, then shuts down, giving requests in
// progress up to five seconds.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// apiError is the JSON body of every error.
type apiError struct {
	Error    string   `json:"error"`
	Problems []string `json:"problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	body := apiError{Error: err.Error()}
	// errors.Join lists one problem per line: keep them apart for tools.
	if lines := strings.Split(err.Error(), "\n"); len(lines) > 1 {
		body.Error, body.Problems = lines[0], lines[1:]
	}
	writeJSON(w, status, body)
}

// admin wraps h with the bearer-token check and logging of the call.
func (s *Server) admin(h func(w http.ResponseWriter, r *http.Request) (status int, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken == "" {
			writeError(w, http.StatusForbidden, errors.New("admin API disabled: set api.admin_token"))
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kcc"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token"))
			s.log.Warn().Str("remote", r.RemoteAddr).Str("method", r.Method).Str("path", r.URL.Path).Msg("admin call refused: bad token")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		status, err := h(w, r)
		ev := s.log.Info()
		if err != nil {
			ev = s.log.Warn().Err(err)
		}
		ev.Str("remote", r.RemoteAddr).Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).Msg("admin call")
		if s.cfg.Audit != nil && r.Method != http.MethodGet {
			// Refused changes too: an audit trail shows what was tried.
			details := map[string]any{"path": r.URL.Path, "status": status}
			if err != nil {
				details["error"] = err.Error()
			}
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			s.cfg.Audit.Audit("admin@"+host, r.Pattern, details, s.cfg.Now())
		}
	})
}

func (s *Server) flowStatus(w http.ResponseWriter, _ *http.Request) (int, error) {
	writeJSON(w, http.StatusOK, flowStatusJSON(s.flows.Status()))
	return http.StatusOK, nil
}

func (s *Server) flowReload(w http.ResponseWriter, _ *http.Request) (int, error) {
	vs, err := s.flows.Reload()
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err)
		return http.StatusUnprocessableEntity, err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deployed": versionsJSON(vs)})
	return http.StatusOK, nil
}

func (s *Server) flowRollback(w http.ResponseWriter, r *http.Request) (int, error) {
	v, err := s.flows.Rollback(r.PathValue("flow"))
	switch {
	case errors.Is(err, flows.ErrUnknownFlow):
		writeError(w, http.StatusNotFound, err)
		return http.StatusNotFound, err
	case err != nil:
		writeError(w, http.StatusConflict, err)
		return http.StatusConflict, err
	}
	writeJSON(w, http.StatusOK, map[string]any{"current": versionJSON(v), "pinned": true})
	return http.StatusOK, nil
}

func (s *Server) flowUnpin(w http.ResponseWriter, r *http.Request) (int, error) {
	vs, err := s.flows.Unpin(r.PathValue("flow"))
	switch {
	case errors.Is(err, flows.ErrUnknownFlow):
		writeError(w, http.StatusNotFound, err)
		return http.StatusNotFound, err
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, err)
		return http.StatusUnprocessableEntity, err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deployed": versionsJSON(vs)})
	return http.StatusOK, nil
}

func (s *Server) incidentList(w http.ResponseWriter, _ *http.Request) (int, error) {
	writeJSON(w, http.StatusOK, s.incidents.List(s.cfg.Now()))
	return http.StatusOK, nil
}

// incidentRequest is the body of PUT /api/v1/incidents/{slot}: the
// prompts and either a duration or an end time.
type incidentRequest struct {
	Prompts   []string  `json:"prompts"`
	ExpiresIn string    `json:"expires_in"`
	Expires   time.Time `json:"expires"`
	By        string    `json:"by"`
}

func (s *Server) incidentSet(w http.ResponseWriter, r *http.Request) (int, error) {
	var req incidentRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		err = fmt.Errorf("incident body: %w", err)
		writeError(w, http.StatusBadRequest, err)
		return http.StatusBadRequest, err
	}
	now := s.cfg.Now()
	expires := req.Expires
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || !req.Expires.IsZero() {
			err = fmt.Errorf("incident body: expires_in %q: want a duration such as 2h, and no expires with it", req.ExpiresIn)
			writeError(w, http.StatusBadRequest, err)
			return http.StatusBadRequest, err
		}
		expires = now.Add(d)
	}
	m := incident.Message{Slot: r.PathValue("slot"), Prompts: req.Prompts, Expires: expires, By: req.By}
	if err := s.incidents.Set(m, now); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err)
		return http.StatusUnprocessableEntity, err
	}
	s.log.Warn().Str("slot", m.Slot).Strs("prompts", m.Prompts).Time("expires", expires).Str("by", m.By).Msg("incident message set")
	writeJSON(w, http.StatusOK, m)
	return http.StatusOK, nil
}

func (s *Server) incidentClear(w http.ResponseWriter, r *http.Request) (int, error) {
	slot := r.PathValue("slot")
	if !s.incidents.Clear(slot) {
		err := fmt.Errorf("no incident message on slot %q", slot)
		writeError(w, http.StatusNotFound, err)
		return http.StatusNotFound, err
	}
	s.log.Warn().Str("slot", slot).Msg("incident message cleared")
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent, nil
}
