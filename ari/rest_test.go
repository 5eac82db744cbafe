package ari

// REST calls are checked against a fake Asterisk (helpers_test.go) that
// returns the JSON shapes recorded from Asterisk 22.10; tests against a
// real Asterisk come with the lead's integration work.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const (
	chanJSON   = `{"id":"agent-1","name":"PJSIP/1001-00000006","state":"Down","protocol_id":"","caller":{"name":"KCC Queue","number":"5000"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"default","exten":"s","priority":1,"app_name":"AppDial2","app_data":"(Outgoing Line)"},"creationtime":"2026-11-27T08:31:41.295+0000","language":"en"}`
	bridgeJSON = `{"id":"bridge-call-42","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","creator":"Stasis","name":"call-42","channels":[],"creationtime":"2026-11-27T08:31:43.000+0000","video_mode":"talker"}`
	pbJSON     = `{"id":"pb-1","media_uri":"sound:hello-world","target_uri":"channel:c1","language":"en","state":"queued"}`
	infoJSON   = `{"build":{"os":"Linux"},"system":{"version":"22.10.1","entity_id":"02:fc:00:00:00:01"},"config":{"name":"","default_language":"en","max_channels":0},"status":{"startup_time":"2026-11-27T07:00:00.000+0000","last_reload_time":"2026-11-27T07:05:00.000+0000"}}`
)

var (
	wantChan = Channel{
		ID: "agent-1", Name: "PJSIP/1001-00000006", State: "Down",
		Caller:       CallerID{Name: "KCC Queue", Number: "5000"},
		Dialplan:     Dialplan{Context: "default", Exten: "s", Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"},
		CreationTime: time.Date(2026, 11, 27, 8, 31, 41, 295e6, time.UTC), Language: "en",
	}
	wantBridge = Bridge{
		ID: "bridge-call-42", Technology: "simple_bridge", BridgeType: "mixing", BridgeClass: "stasis",
		Creator: "Stasis", Name: "call-42", Channels: []string{}, VideoMode: "talker",
		CreationTime: time.Date(2026, 11, 27, 8, 31, 43, 0, time.UTC),
	}
	wantPB = Playback{ID: "pb-1", MediaURI: "sound:hello-world", TargetURI: "channel:c1", Language: "en", State: "queued"}
)

func TestREST(t *testing.T) {
	emJSON, err := os.ReadFile(filepath.Join("testdata", "external_media_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		call   func(context.Context, *Client) (any, error)
		method string
		path   string
		query  url.Values
		body   string // JSON, compared semantically; "" for none
		status int
		resp   string
		want   any
	}{
		{
			name: "originate with headers, args and caller id",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Originate(ctx, OriginateRequest{
					ChannelID: "agent-1", Endpoint: "PJSIP/1001", AppArgs: []string{"agent", "call-42", "c1"},
					CallerID: `"Customer" <+4930123456>`, Timeout: 14500 * time.Millisecond, Originator: "c1",
					Formats:           []string{"alaw", "ulaw"},
					Variables:         map[string]string{"PJSIP_HEADER(add,X-KCC-Topic)": "billing"},
					ReportedVariables: map[string]string{"KCC_CALL": "call-42"},
				})
			},
			method: "POST", path: "/ari/channels",
			query: url.Values{"endpoint": {"PJSIP/1001"}, "app": {"kcc"}, "appArgs": {"agent,call-42,c1"},
				"callerId": {`"Customer" <+4930123456>`}, "timeout": {"15"}, "channelId": {"agent-1"},
				"originator": {"c1"}, "formats": {"alaw,ulaw"}},
			body:   `{"variables":{"PJSIP_HEADER(add,X-KCC-Topic)":"billing","KCC_CALL":{"value":"call-42","report_events":true}}}`,
			status: 200, resp: chanJSON, want: wantChan,
		},
		{
			name: "originate minimal, no timeout",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Originate(ctx, OriginateRequest{ChannelID: "agent-1", Endpoint: "PJSIP/1001", Timeout: -1, OtherChannelID: "agent-1b"})
			},
			method: "POST", path: "/ari/channels",
			query:  url.Values{"endpoint": {"PJSIP/1001"}, "app": {"kcc"}, "channelId": {"agent-1"}, "timeout": {"-1"}, "otherChannelId": {"agent-1b"}},
			status: 200, resp: chanJSON, want: wantChan,
		},
		{
			name:   "answer",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Answer(ctx, "c1") },
			method: "POST", path: "/ari/channels/c1/answer", query: url.Values{}, status: 204,
		},
		{
			name:   "ring",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Ring(ctx, "c1") },
			method: "POST", path: "/ari/channels/c1/ring", query: url.Values{}, status: 204,
		},
		{
			name: "set global variable",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetGlobalVariable(ctx, "KCC_CONSULT_1001", "kcc")
			},
			method: "POST", path: "/ari/asterisk/variable",
			query: url.Values{"variable": {"KCC_CONSULT_1001"}, "value": {"kcc"}}, status: 204,
		},
		{
			name: "clear global variable",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetGlobalVariable(ctx, "KCC_CONSULT_1001", "")
			},
			method: "POST", path: "/ari/asterisk/variable",
			query: url.Values{"variable": {"KCC_CONSULT_1001"}, "value": {""}}, status: 204,
		},
		{
			name: "hangup with reason",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Hangup(ctx, "agent-1", HangupAnsweredElsewhere)
			},
			method: "DELETE", path: "/ari/channels/agent-1", query: url.Values{"reason": {"answered_elsewhere"}}, status: 204,
		},
		{
			name:   "hangup default reason",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Hangup(ctx, "agent-1", "") },
			method: "DELETE", path: "/ari/channels/agent-1", query: url.Values{}, status: 204,
		},
		{
			name:   "get channel with an id that needs escaping",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Channel(ctx, "1795768301.412/x") },
			method: "GET", path: "/ari/channels/1795768301.412%2Fx", query: url.Values{}, status: 200, resp: chanJSON, want: wantChan,
		},
		{
			name:   "list channels",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Channels(ctx) },
			method: "GET", path: "/ari/channels", query: url.Values{}, status: 200, resp: "[" + chanJSON + "]", want: []Channel{wantChan},
		},
		{
			name: "set variable",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetVariable(ctx, "agent-1", "PJSIP_HEADER(add,X-KCC-Queue)", "q-sales")
			},
			method: "POST", path: "/ari/channels/agent-1/variable",
			query: url.Values{"variable": {"PJSIP_HEADER(add,X-KCC-Queue)"}, "value": {"q-sales"}}, status: 204,
		},
		{
			name: "get variable",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetVariable(ctx, "c1", "PJSIP_HEADER(read,X-KCC-Call-ID)")
			},
			method: "GET", path: "/ari/channels/c1/variable", query: url.Values{"variable": {"PJSIP_HEADER(read,X-KCC-Call-ID)"}},
			status: 200, resp: `{"value":"call-68300"}`, want: "call-68300",
		},
		{
			name:   "start moh",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.StartMOH(ctx, "c1", "kcc") },
			method: "POST", path: "/ari/channels/c1/moh", query: url.Values{"mohClass": {"kcc"}}, status: 204,
		},
		{
			name:   "stop moh",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.StopMOH(ctx, "c1") },
			method: "DELETE", path: "/ari/channels/c1/moh", query: url.Values{}, status: 204,
		},
		{
			name: "play a list on a channel",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Play(ctx, "c1", "pb-1", "sound:hello-world", "digits:42")
			},
			method: "POST", path: "/ari/channels/c1/play", query: url.Values{"media": {"sound:hello-world,digits:42"}, "playbackId": {"pb-1"}},
			status: 201, resp: pbJSON, want: wantPB,
		},
		{
			name: "play on a bridge",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PlayBridge(ctx, "bridge-call-42", "pb-1", "tone:ring;tonezone=us")
			},
			method: "POST", path: "/ari/bridges/bridge-call-42/play", query: url.Values{"media": {"tone:ring;tonezone=us"}, "playbackId": {"pb-1"}},
			status: 201, resp: pbJSON, want: wantPB,
		},
		{
			name: "external media",
			call: func(ctx context.Context, c *Client) (any, error) {
				ch, err := c.ExternalMedia(ctx, ExternalMediaRequest{ChannelID: "em-ulaw", ExternalHost: "127.0.0.1:40010", Format: "ulaw", Data: "kcc-call-42"})
				if err != nil {
					return nil, err
				}
				return ch.RTPAddress()
			},
			method: "POST", path: "/ari/channels/externalMedia",
			query: url.Values{"app": {"kcc"}, "channelId": {"em-ulaw"}, "external_host": {"127.0.0.1:40010"}, "format": {"ulaw"},
				"encapsulation": {"rtp"}, "transport": {"udp"}, "connection_type": {"client"}, "direction": {"both"}, "data": {"kcc-call-42"}},
			status: 200, resp: string(emJSON), want: netip.MustParseAddrPort("127.0.0.1:14062"),
		},
		{
			name: "create bridge",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateBridge(ctx, "bridge-call-42", "call-42")
			},
			method: "POST", path: "/ari/bridges", query: url.Values{"type": {"mixing"}, "bridgeId": {"bridge-call-42"}, "name": {"call-42"}},
			status: 200, resp: bridgeJSON, want: wantBridge,
		},
		{
			name: "add channels comma-joined",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.AddChannel(ctx, "bridge-call-42", "c1", "agent-1")
			},
			method: "POST", path: "/ari/bridges/bridge-call-42/addChannel", query: url.Values{"channel": {"c1,agent-1"}}, status: 204,
		},
		{
			name: "remove channel",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.RemoveChannel(ctx, "bridge-call-42", "c1")
			},
			method: "POST", path: "/ari/bridges/bridge-call-42/removeChannel", query: url.Values{"channel": {"c1"}}, status: 204,
		},
		{
			name:   "destroy bridge",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DestroyBridge(ctx, "bridge-call-42") },
			method: "DELETE", path: "/ari/bridges/bridge-call-42", query: url.Values{}, status: 204,
		},
		{
			name:   "get bridge",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Bridge(ctx, "bridge-call-42") },
			method: "GET", path: "/ari/bridges/bridge-call-42", query: url.Values{}, status: 200, resp: bridgeJSON, want: wantBridge,
		},
		{
			name:   "list bridges",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Bridges(ctx) },
			method: "GET", path: "/ari/bridges", query: url.Values{}, status: 200, resp: "[" + bridgeJSON + "]", want: []Bridge{wantBridge},
		},
		{
			name:   "get playback",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Playback(ctx, "pb-1") },
			method: "GET", path: "/ari/playbacks/pb-1", query: url.Values{}, status: 200, resp: pbJSON, want: wantPB,
		},
		{
			name:   "stop playback",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.StopPlayback(ctx, "pb-1") },
			method: "DELETE", path: "/ari/playbacks/pb-1", query: url.Values{}, status: 204,
		},
		{
			name:   "get endpoint",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Endpoint(ctx, "PJSIP", "1001") },
			method: "GET", path: "/ari/endpoints/PJSIP/1001", query: url.Values{}, status: 200,
			resp: `{"technology":"PJSIP","resource":"1001","state":"online","channel_ids":[]}`,
			want: Endpoint{Technology: "PJSIP", Resource: "1001", State: "online", ChannelIDs: []string{}},
		},
		{
			name:   "list endpoints",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Endpoints(ctx) },
			method: "GET", path: "/ari/endpoints", query: url.Values{}, status: 200,
			resp: `[{"technology":"PJSIP","resource":"1002","state":"offline","channel_ids":["x"]}]`,
			want: []Endpoint{{Technology: "PJSIP", Resource: "1002", State: "offline", ChannelIDs: []string{"x"}}},
		},
		{
			name:   "get device state escapes the slash",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.DeviceState(ctx, "PJSIP/1001") },
			method: "GET", path: "/ari/deviceStates/PJSIP%2F1001", query: url.Values{}, status: 200,
			resp: `{"name":"PJSIP/1001","state":"NOT_INUSE"}`, want: DeviceState{Name: "PJSIP/1001", State: "NOT_INUSE"},
		},
		{
			name:   "list device states",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.DeviceStates(ctx) },
			method: "GET", path: "/ari/deviceStates", query: url.Values{}, status: 200,
			resp: `[{"name":"Stasis:agent-1001","state":"INUSE"}]`, want: []DeviceState{{Name: "Stasis:agent-1001", State: "INUSE"}},
		},
		{
			name: "subscribe app to endpoint and device state",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SubscribeApp(ctx, SourceEndpoint+"PJSIP/1001", SourceDeviceState+"PJSIP/1001")
			},
			method: "POST", path: "/ari/applications/kcc/subscription", query: url.Values{"eventSource": {"endpoint:PJSIP/1001,deviceState:PJSIP/1001"}},
			status: 200, resp: `{"name":"kcc","channel_ids":[],"bridge_ids":[],"endpoint_ids":["PJSIP/1001"],"device_names":["PJSIP/1001"]}`,
			want: Application{Name: "kcc", ChannelIDs: []string{}, BridgeIDs: []string{}, EndpointIDs: []string{"PJSIP/1001"}, DeviceNames: []string{"PJSIP/1001"}},
		},
		{
			name: "unsubscribe app",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UnsubscribeApp(ctx, SourceEndpoint+"PJSIP")
			},
			method: "DELETE", path: "/ari/applications/kcc/subscription", query: url.Values{"eventSource": {"endpoint:PJSIP"}},
			status: 200, resp: `{"name":"kcc"}`, want: Application{Name: "kcc"},
		},
		{
			name: "set device state",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetDeviceState(ctx, "Stasis:agent-1001", "INUSE")
			},
			method: "PUT", path: "/ari/deviceStates/Stasis:agent-1001", query: url.Values{"deviceState": {"INUSE"}}, status: 204,
		},
		{
			name: "delete device state",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.DeleteDeviceState(ctx, "Stasis:agent-1001")
			},
			method: "DELETE", path: "/ari/deviceStates/Stasis:agent-1001", query: url.Values{}, status: 204,
		},
		{
			name: "transfer progress",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.TransferProgress(ctx, "kcc-agent-1/x", TransferAnswered)
			},
			method: "POST", path: "/ari/channels/kcc-agent-1%2Fx/transfer_progress", query: url.Values{"states": {"channel_answered"}}, status: 204,
		},
		{
			name:   "asterisk info",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.AsteriskInfo(ctx) },
			method: "GET", path: "/ari/asterisk/info", query: url.Values{}, status: 200, resp: infoJSON,
			want: Info{Version: "22.10.1", EntityID: "02:fc:00:00:00:01", DefaultLang: "en",
				StartupTime: time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), LastReload: time.Date(2026, 11, 27, 7, 5, 0, 0, time.UTC)},
		},
		{
			name:   "application state",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Application(ctx) },
			method: "GET", path: "/ari/applications/kcc", query: url.Values{}, status: 200,
			resp: `{"name":"kcc","channel_ids":["rc-1001"],"bridge_ids":["rc-bridge"],"endpoint_ids":[],"device_names":[],"events_allowed":[],"events_disallowed":[]}`,
			want: Application{Name: "kcc", ChannelIDs: []string{"rc-1001"}, BridgeIDs: []string{"rc-bridge"}, EndpointIDs: []string{}, DeviceNames: []string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := newFakeAsterisk(t)
			fa.setREST(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.resp))
			})
			c, _ := startClient(t, fa, nil)
			got, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := fa.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1: %+v", len(reqs), reqs)
			}
			r := reqs[0]
			if !r.AuthOK {
				t.Error("request lacks the basic auth credentials")
			}
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			if !reflect.DeepEqual(r.Query, tt.query) {
				t.Errorf("query %v, want %v", r.Query, tt.query)
			}
			if tt.body == "" {
				if r.Body != "" {
					t.Errorf("body %q, want none", r.Body)
				}
			} else {
				var gotBody, wantBody any
				if err := json.Unmarshal([]byte(r.Body), &gotBody); err != nil {
					t.Fatalf("body %q: %v", r.Body, err)
				}
				if err := json.Unmarshal([]byte(tt.body), &wantBody); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(gotBody, wantBody) {
					t.Errorf("body %s, want %s", r.Body, tt.body)
				}
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRESTErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		sentinel error
		message  string
	}{
		{"channel gone", 404, `{"message":"Channel not found"}`, ErrNotFound, "Channel not found"},
		{"not in stasis", 422, `{"message":"Channel not in Stasis application"}`, ErrNotInStasis, "Channel not in Stasis application"},
		{"conflict", 409, `{"message":"Uncontrolled device specified"}`, ErrConflict, "Uncontrolled device specified"},
		{"allocation failed uses the error key", 500, `{"error":"Allocation failed"}`, ErrServer, "Allocation failed"},
		{"bad request", 400, `{"message":"Invalid reason for hangup provided"}`, ErrBadRequest, "Invalid reason for hangup provided"},
		{"body not json", 503, `<html>busy</html>`, ErrServer, "<html>busy</html>"},
		{"empty body", 404, ``, ErrNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := newFakeAsterisk(t)
			fa.setREST(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			c, err := New(testConfig(fa.srv.URL), zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			err = c.Hangup(t.Context(), "c1", HangupNormal)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want one matching %v", err, tt.sentinel)
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %T, want *Error", err)
			}
			want := Error{Status: tt.status, Message: tt.message, Method: "DELETE", Path: "/channels/c1"}
			if *ae != want {
				t.Errorf("error %+v, want %+v", *ae, want)
			}
			for _, other := range []error{ErrNotFound, ErrConflict, ErrNotInStasis, ErrBadRequest, ErrUnauthorized, ErrServer} {
				if other != tt.sentinel && errors.Is(err, other) {
					t.Errorf("err also matches %v", other)
				}
			}
		})
	}

	t.Run("wrong password is unauthorized and not echoed", func(t *testing.T) {
		fa := newFakeAsterisk(t)
		cfg := testConfig(fa.srv.URL)
		cfg.Password = "wrong-secret"
		c, err := New(cfg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.AsteriskInfo(t.Context())
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("error %q contains the password", err)
		}
	})

	t.Run("per-call timeout", func(t *testing.T) {
		fa := newFakeAsterisk(t)
		fa.setREST(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		cfg := testConfig(fa.srv.URL)
		cfg.Timeout = 50 * time.Millisecond
		c, err := New(cfg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Channel(t.Context(), "c1")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("unreachable asterisk", func(t *testing.T) {
		fa := newFakeAsterisk(t)
		fa.srv.Close()
		c, err := New(testConfig(fa.srv.URL), zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Endpoints(t.Context())
		if err == nil || strings.Contains(err.Error(), testPass) {
			t.Fatalf("err = %v, want a connection error without the password", err)
		}
	})

	t.Run("undecodable success body", func(t *testing.T) {
		fa := newFakeAsterisk(t)
		fa.setREST(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":`)) })
		c, err := New(testConfig(fa.srv.URL), zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Bridge(t.Context(), "b1"); err == nil || !strings.Contains(err.Error(), "decode response") {
			t.Fatalf("err = %v, want a decode error", err)
		}
	})
}

// TestRESTBadInput checks that bad arguments are refused before any
// request is sent.
func TestRESTBadInput(t *testing.T) {
	tests := []struct {
		name string
		call func(context.Context, *Client) error
	}{
		{"originate without channel id", func(ctx context.Context, c *Client) error {
			_, err := c.Originate(ctx, OriginateRequest{Endpoint: "PJSIP/1001"})
			return err
		}},
		{"originate without endpoint", func(ctx context.Context, c *Client) error {
			_, err := c.Originate(ctx, OriginateRequest{ChannelID: "a"})
			return err
		}},
		{"originate app arg with comma", func(ctx context.Context, c *Client) error {
			_, err := c.Originate(ctx, OriginateRequest{ChannelID: "a", Endpoint: "PJSIP/1001", AppArgs: []string{"x,y"}})
			return err
		}},
		{"originate while disconnected", func(ctx context.Context, c *Client) error {
			_, err := c.Originate(ctx, OriginateRequest{ChannelID: "a", Endpoint: "PJSIP/1001"})
			if !errors.Is(err, ErrNotConnected) {
				return nil // reported below as "no error"
			}
			return err
		}},
		{"external media while disconnected", func(ctx context.Context, c *Client) error {
			_, err := c.ExternalMedia(ctx, ExternalMediaRequest{ChannelID: "em", ExternalHost: "127.0.0.1:4000", Format: "ulaw"})
			if !errors.Is(err, ErrNotConnected) {
				return nil
			}
			return err
		}},
		{"external media without host", func(ctx context.Context, c *Client) error {
			_, err := c.ExternalMedia(ctx, ExternalMediaRequest{ChannelID: "em", Format: "ulaw"})
			return err
		}},
		{"hangup unknown reason", func(ctx context.Context, c *Client) error { return c.Hangup(ctx, "c1", "because") }},
		{"hangup empty id", func(ctx context.Context, c *Client) error { return c.Hangup(ctx, "", HangupBusy) }},
		{"answer id with comma", func(ctx context.Context, c *Client) error { return c.Answer(ctx, "a,b") }},
		{"add no channels", func(ctx context.Context, c *Client) error { return c.AddChannel(ctx, "b1") }},
		{"add channel with comma", func(ctx context.Context, c *Client) error { return c.AddChannel(ctx, "b1", "a,b") }},
		{"play without playback id", func(ctx context.Context, c *Client) error {
			_, err := c.Play(ctx, "c1", "", "sound:beep")
			return err
		}},
		{"play without media", func(ctx context.Context, c *Client) error {
			_, err := c.Play(ctx, "c1", "pb")
			return err
		}},
		{"transfer progress unknown state", func(ctx context.Context, c *Client) error {
			return c.TransferProgress(ctx, "c1", TransferState("channel_ringing"))
		}},
		{"transfer progress empty state", func(ctx context.Context, c *Client) error { return c.TransferProgress(ctx, "c1", "") }},
		{"transfer progress empty id", func(ctx context.Context, c *Client) error { return c.TransferProgress(ctx, "", TransferDeclined) }},
		{"set variable without name", func(ctx context.Context, c *Client) error { return c.SetVariable(ctx, "c1", "", "v") }},
		{"set global variable without name", func(ctx context.Context, c *Client) error { return c.SetGlobalVariable(ctx, "", "v") }},
		{"ring without id", func(ctx context.Context, c *Client) error { return c.Ring(ctx, "") }},
		{"endpoint without resource", func(ctx context.Context, c *Client) error {
			_, err := c.Endpoint(ctx, "PJSIP", "")
			return err
		}},
		{"device state without name", func(ctx context.Context, c *Client) error {
			_, err := c.DeviceState(ctx, "")
			return err
		}},
		{"create bridge without id", func(ctx context.Context, c *Client) error {
			_, err := c.CreateBridge(ctx, "", "x")
			return err
		}},
		{"subscribe nothing", func(ctx context.Context, c *Client) error {
			_, err := c.SubscribeApp(ctx)
			return err
		}},
		{"subscribe unknown source kind", func(ctx context.Context, c *Client) error {
			_, err := c.SubscribeApp(ctx, "peer:PJSIP/1001")
			return err
		}},
		{"subscribe source without name", func(ctx context.Context, c *Client) error {
			_, err := c.SubscribeApp(ctx, SourceEndpoint)
			return err
		}},
		{"subscribe source with comma", func(ctx context.Context, c *Client) error {
			_, err := c.UnsubscribeApp(ctx, "endpoint:PJSIP/1001,deviceState:x")
			return err
		}},
		{"set a device ARI does not control", func(ctx context.Context, c *Client) error {
			return c.SetDeviceState(ctx, "PJSIP/1001", "INUSE")
		}},
		{"set an unknown device state", func(ctx context.Context, c *Client) error {
			return c.SetDeviceState(ctx, "Stasis:agent-1001", "in use")
		}},
		{"delete a device ARI does not control", func(ctx context.Context, c *Client) error {
			return c.DeleteDeviceState(ctx, "Stasis:")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := newFakeAsterisk(t)
			c, err := New(testConfig(fa.srv.URL), zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.call(t.Context(), c); err == nil {
				t.Fatal("no error (or not the expected one)")
			}
			if reqs := fa.requests(); len(reqs) != 0 {
				t.Errorf("sent %d requests, want none: %+v", len(reqs), reqs)
			}
		})
	}
}

func TestRTPAddress(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		want    string
		wantErr bool
	}{
		{"ok", map[string]string{"UNICASTRTP_LOCAL_ADDRESS": "127.0.0.1", "UNICASTRTP_LOCAL_PORT": "14062"}, "127.0.0.1:14062", false},
		{"ipv6", map[string]string{"UNICASTRTP_LOCAL_ADDRESS": "::1", "UNICASTRTP_LOCAL_PORT": "14062"}, "[::1]:14062", false},
		{"missing", nil, "", true},
		{"bad address", map[string]string{"UNICASTRTP_LOCAL_ADDRESS": "localhost", "UNICASTRTP_LOCAL_PORT": "1"}, "", true},
		{"bad port", map[string]string{"UNICASTRTP_LOCAL_ADDRESS": "127.0.0.1", "UNICASTRTP_LOCAL_PORT": "70000"}, "", true},
		{"zero port", map[string]string{"UNICASTRTP_LOCAL_ADDRESS": "127.0.0.1", "UNICASTRTP_LOCAL_PORT": "0"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Channel{ID: "em", ChannelVars: tt.vars}.RTPAddress()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("RTPAddress() = %v, want an error", got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("RTPAddress() = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Username: "kcc", Password: "p"}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"https", func(c *Config) { c.URL = "https://asterisk.example:8089/" }, ""},
		{"no username", func(c *Config) { c.Username = "" }, "username is empty"},
		{"colon in username", func(c *Config) { c.Username = "a:b" }, "username contains"},
		{"ftp url", func(c *Config) { c.URL = "ftp://x" }, "scheme"},
		{"no host", func(c *Config) { c.URL = "http://" }, "no host"},
		{"credentials in url", func(c *Config) { c.URL = "http://kcc:topsecret@127.0.0.1:8088" }, "credentials"},
		{"query in url", func(c *Config) { c.URL = "http://127.0.0.1:8088/?x=1" }, "query"},
		{"unparsable url", func(c *Config) { c.URL = "http://[::1" }, "url"},
		{"app with comma", func(c *Config) { c.App = "a,b" }, "app name"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "timeout"},
		{"max below min", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Second, time.Millisecond }, "below"},
		{"negative buffer", func(c *Config) { c.EventBuffer = -1 }, "event buffer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := New(cfg, zerolog.Nop()); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error %q contains the password", err)
			}
			if _, err := New(cfg, zerolog.Nop()); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	c, err := New(Config{Username: "kcc", ReconnectMin: 100 * time.Millisecond, ReconnectMax: time.Second}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for n, ceil := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		ceil *= time.Millisecond
		for range 50 {
			if got := c.backoff(n); got < ceil/2 || got > ceil {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, ceil/2, ceil)
			}
		}
	}
	if got := c.backoff(1 << 20); got > time.Second {
		t.Errorf("backoff(huge) = %v, want at most the max", got)
	}
}
