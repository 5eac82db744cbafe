package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"kcc/call"
	"kcc/config"
	"kcc/ivr"
	"kcc/prompts"
	"kcc/routing"
)

const flowUsage = `usage:
  kcc flow validate [--config FILE] FLOW.yaml...   check flow files against the prompts and queues (exit 1 on errors)
  kcc flow schema                                  print the JSON Schema of flow files (for editors)
  kcc flow simulate [--config FILE] FLOW.yaml --keys 1,2 --at 2026-12-25T10:00 [--lang en] [--caller +31612345678]
                    [--unavailable QUEUE,...] [--decline-callback] [--fail-transfer]
                                                   print what a caller hears and what the flow decides
  kcc flow graph    [--config FILE] FLOW.yaml [--format mermaid|dot]   draw the flow
  kcc flow versions [--config FILE]                list every flow's deployed versions (admin API)
  kcc flow reload   [--config FILE]                load changed flow files now (admin API)
  kcc flow rollback [--config FILE] FLOW           go back to the previous version and pin it (admin API)
  kcc flow unpin    [--config FILE] FLOW           lift the pin: back to the file's version (admin API)`

const incidentUsage = `usage:
  kcc incident open  [--config FILE] SLOT --prompts P1,P2 --for 2h [--by NAME]   play an incident message at SLOT
  kcc incident close [--config FILE] SLOT                                        stop it
  kcc incident list  [--config FILE]                                             show the active ones`

// flowCmd runs "kcc flow ...".
func flowCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(flowUsage)
	}
	fs := flag.NewFlagSet("flow "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file (default: compiled-in defaults)")
	keys := fs.String("keys", "", "simulate: keys the caller presses, e.g. 1,2 (- for none)")
	at := fs.String("at", "", "simulate: when the call arrives, e.g. 2026-12-25T10:00 (the flow's time zone) or RFC 3339")
	lang := fs.String("lang", "", "simulate: the language the call starts in")
	caller := fs.String("caller", "", "simulate: the caller's number (empty: withheld)")
	format := fs.String("format", "mermaid", "graph: mermaid or dot")
	var sim ivr.SimOptions
	unavailable := fs.String("unavailable", "", "simulate: queues that refuse callers (full or without agents), e.g. paspoort,afval")
	fs.BoolVar(&sim.DeclineCallback, "decline-callback", false, "simulate: the caller declines callback offers")
	fs.BoolVar(&sim.FailTransfer, "fail-transfer", false, "simulate: transfers do not reach their target")
	if args[0] == "schema" {
		_, err := stdout.Write(ivr.Schema())
		return err
	}
	if err := fs.Parse(interleaved(args[1:])); err != nil {
		return err
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	rest := fs.Args()
	switch args[0] {
	case "validate":
		if len(rest) == 0 {
			return errors.New("flow validate: name at least one flow file\n" + flowUsage)
		}
		return validateFlows(cfg, rest, stdout)
	case "simulate", "graph":
		if len(rest) != 1 {
			return fmt.Errorf("flow %s: name one flow file\n%s", args[0], flowUsage)
		}
		chk, err := newChecker(cfg)
		if err != nil {
			return err
		}
		src, err := os.ReadFile(rest[0])
		if err != nil {
			return err
		}
		p, err := ivr.Load(rest[0], src, chk)
		if err != nil {
			return err
		}
		if args[0] == "graph" {
			out, err := ivr.Graph(p, *format)
			if err != nil {
				return err
			}
			_, err = stdout.Write(out)
			return err
		}
		if *unavailable != "" {
			sim.Unavailable = strings.Split(*unavailable, ",")
		}
		return simulate(p, chk, *keys, *at, *lang, *caller, sim, stdout)
	case "versions":
		return adminCall(ctx, cfg, http.MethodGet, "/api/v1/flows", nil, stdout)
	case "reload":
		return adminCall(ctx, cfg, http.MethodPost, "/api/v1/flows/reload", nil, stdout)
	case "rollback", "unpin":
		if len(rest) != 1 {
			return fmt.Errorf("flow %s: name one flow\n%s", args[0], flowUsage)
		}
		return adminCall(ctx, cfg, http.MethodPost, "/api/v1/flows/"+url.PathEscape(rest[0])+"/"+args[0], nil, stdout)
	}
	return fmt.Errorf("unknown flow command %q\n%s", args[0], flowUsage)
}

// validateFlows compiles every file against the configured prompts and
// queues and prints every problem; warnings do not fail.
func validateFlows(cfg config.Config, files []string, stdout io.Writer) error {
	chk, err := newChecker(cfg)
	if err != nil {
		return err
	}
	failed := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(stdout, err)
			failed++
			continue
		}
		p, err := ivr.Load(f, src, chk)
		if err != nil {
			fmt.Fprintln(stdout, err)
			failed++
			continue
		}
		for _, w := range p.Warnings() {
			fmt.Fprintf(stdout, "%s (warning)\n", w)
		}
		fmt.Fprintf(stdout, "%s: flow %s ok, version %s\n", f, p.Name(), p.Version())
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d flow files have errors", failed, len(files))
	}
	return nil
}

// incidentCmd runs "kcc incident ...".
func incidentCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(incidentUsage)
	}
	fs := flag.NewFlagSet("incident "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file (default: compiled-in defaults)")
	promptList := fs.String("prompts", "", "comma-separated prompt names to play (open)")
	dur := fs.Duration("for", 0, "how long the message plays, e.g. 2h (open)")
	by := fs.String("by", os.Getenv("USER"), "who opens it, for the audit trail (open)")
	// Flags may follow the slot name: parse around it.
	var slot string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		slot, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if slot == "" && fs.NArg() > 0 {
		slot = fs.Arg(0)
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	switch args[0] {
	case "list":
		return adminCall(ctx, cfg, http.MethodGet, "/api/v1/incidents", nil, stdout)
	case "open":
		if slot == "" || *promptList == "" || *dur <= 0 {
			return errors.New("incident open: give SLOT, --prompts and --for\n" + incidentUsage)
		}
		body := map[string]any{"prompts": strings.Split(*promptList, ","), "expires_in": dur.String(), "by": *by}
		return adminCall(ctx, cfg, http.MethodPut, "/api/v1/incidents/"+url.PathEscape(slot), body, stdout)
	case "close":
		if slot == "" {
			return errors.New("incident close: give SLOT\n" + incidentUsage)
		}
		return adminCall(ctx, cfg, http.MethodDelete, "/api/v1/incidents/"+url.PathEscape(slot), nil, stdout)
	}
	return fmt.Errorf("unknown incident command %q\n%s", args[0], incidentUsage)
}

// adminCall sends one admin API request to the kcc the configuration
// describes (api.listen, api.admin_token) and prints the answer.
func adminCall(ctx context.Context, cfg config.Config, method, path string, body any, stdout io.Writer) error {
	if cfg.API.Listen == "" || cfg.API.AdminToken == "" {
		return errors.New("the admin API needs api.listen and api.admin_token in the configuration (or KCC_API_ADMIN_TOKEN)")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+cfg.API.Listen+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.API.AdminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error    string   `json:"error"`
			Problems []string `json:"problems"`
		}
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (HTTP %d)", strings.Join(append([]string{e.Error}, e.Problems...), "\n"), resp.StatusCode)
		}
		return fmt.Errorf("admin API: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(out))
	}
	_, err = stdout.Write(out)
	return err
}

// newChecker checks flows against the prompts and queues cfg configures.
func newChecker(cfg config.Config) (checker, error) {
	fsys := prompts.Builtin()
	if cfg.Prompts.Dir != "" {
		fsys = os.DirFS(cfg.Prompts.Dir)
	}
	catalog, err := prompts.Load(fsys)
	if err != nil {
		return checker{}, fmt.Errorf("prompts: %w", err)
	}
	queues := make([]routing.Queue, 0, len(cfg.Queues))
	for _, q := range cfg.Queues {
		queues = append(queues, routing.Queue{Name: q.Name})
	}
	return checker{catalog, queues, cfg.Transfers}, nil
}

// simulate runs p in the simulator and prints the transcript.
func simulate(p *ivr.Program, chk checker, keys, at, lang, caller string, o ivr.SimOptions, stdout io.Writer) error {
	ks, err := ivr.ParseKeys(keys)
	if err != nil {
		return fmt.Errorf("--keys: %w", err)
	}
	when := time.Now()
	if at != "" {
		if when, err = time.Parse(time.RFC3339, at); err != nil {
			if when, err = time.ParseInLocation("2006-01-02T15:04", at, p.Location()); err != nil {
				return fmt.Errorf("--at %q: want 2026-12-25T10:00 (in the flow's time zone %s) or RFC 3339", at, p.Location())
			}
		}
	}
	o.Keys, o.At, o.Language, o.Caller, o.Prompts = ks, when, call.Language(lang), caller, chk
	tr, err := ivr.Simulate(p, o)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, tr.String())
	return err
}

// interleaved moves flags after positional arguments to the front, so
// "kcc flow simulate flow.yaml --keys 1" works like the usage shows (the
// flag package stops at the first positional argument).
func interleaved(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-"):
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}
