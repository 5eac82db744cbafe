//go:build integration

package ari

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"net/url"
	"regexp"
	"testing"
	"time"

	"kcc/peertest"
)

// TestIntegrationRealAsteriskTransfer: a baresip registered on the real
// Asterisk as 1004 answers a channel originated with ari-only transfer
// handling and blind-transfers it (REFER) to "afval". Asterisk accepts the
// REFER itself (202, NOTIFY 100), raises ChannelTransfer with the
// destination's user part, and turns the state the app reports into the
// final NOTIFY: channel_answered gives sipfrag 200 (the phone hangs up),
// channel_declined 603 (the call goes on).
func TestIntegrationRealAsteriskTransfer(t *testing.T) {
	const phoneIP = "127.0.54.20"
	c := realClient(t, recorder(t))
	capture := peertest.StartCapture(t, "udp and host "+phoneIP+" and port 5081")
	phone := peertest.StartBaresip(t, peertest.BaresipConfig{IP: phoneIP, SIPPort: 5081, CtrlPort: 4444, RTPPorts: "22000-22099",
		Account: "<sip:1004@127.0.0.1:5080>;auth_pass=kcc-test-1004;answermode=auto;audio_codecs=PCMA,PCMU;regint=60"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if ep, err := c.Endpoint(ctx, "PJSIP", "1004"); err == nil && ep.State == "online" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("1004 did not come online on Asterisk")
		}
	}

	// transfer rings the phone, waits for its REFER and reports state.
	transfer := func(t *testing.T, state TransferState) (id string) {
		t.Helper()
		id, bridgeID := randomID("kcc-test-"), randomID("kcc-bridge-")
		sub := c.Subscribe(Filter{Channels: []string{id}})
		defer sub.Close()
		if _, err := c.Originate(ctx, OriginateRequest{ChannelID: id, Endpoint: "PJSIP/1004", AppArgs: []string{"probe"},
			CallerID: `"Kcc Test" <14070>`, Timeout: 10 * time.Second,
			Variables: map[string]string{TransferHandlingVariable: TransferHandlingARI}}); err != nil {
			t.Fatalf("Originate: %v", err)
		}
		next(t, sub, "StasisStart")
		if _, err := c.CreateBridge(ctx, bridgeID, "kcc transfer test"); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.DestroyBridge(context.WithoutCancel(ctx), bridgeID) }()
		if err := c.AddChannel(ctx, bridgeID, id); err != nil {
			t.Fatal(err)
		}
		next(t, sub, "ChannelEnteredBridge")
		if _, err := phone.WaitEvent("CALL_ESTABLISHED", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if m, err := phone.Cmd("transfer", "sip:afval@127.0.0.1:5080"); err != nil || !m.OK {
			t.Fatalf("baresip transfer: %+v, %v", m, err)
		}
		tr := next(t, sub, "ChannelTransfer").(ChannelTransfer)
		if got, want := tr.Channel(), id; got != want {
			t.Errorf("ChannelTransfer.Channel() = %q, want %q", got, want)
		}
		if got, want := tr.ReferTo.RequestedDestination.Destination, "afval"; got != want {
			t.Errorf("requested destination = %q, want %q", got, want)
		}
		if tr.Attended() {
			t.Errorf("a blind transfer counts as attended: %+v", tr.ReferTo)
		}
		if tr.ReferredBy.Bridge == nil || tr.ReferredBy.Bridge.ID != bridgeID {
			t.Errorf("referred_by bridge = %+v, want %s", tr.ReferredBy.Bridge, bridgeID)
		}
		if !tr.Requested() {
			t.Errorf("the REFER's event has state %q", tr.State)
		}
		if err := c.TransferProgress(ctx, id, state); err != nil {
			t.Fatalf("TransferProgress(%s): %v", state, err)
		}
		// Asterisk 22.10 echoes channel_unavailable as channel_declined.
		wantEcho := state
		if state == TransferUnavailable {
			wantEcho = TransferDeclined
		}
		echo := next(t, sub, "ChannelTransfer").(ChannelTransfer)
		if echo.Requested() || echo.State != wantEcho || echo.Channel() != id {
			t.Errorf("echo of the report: state %q channel %q, want %q %q", echo.State, echo.Channel(), wantEcho, id)
		}
		return id
	}

	t.Run("answered", func(t *testing.T) {
		id := transfer(t, TransferAnswered)
		if _, err := phone.WaitEvent("CALL_CLOSED", 10*time.Second); err != nil {
			t.Errorf("the phone did not hang up after sipfrag 200: %v", err)
		}
		// Once the subscription ended, or the channel is gone, Asterisk
		// refuses further reports.
		time.Sleep(500 * time.Millisecond)
		if err := c.TransferProgress(ctx, id, TransferAnswered); err == nil {
			t.Error("a second report on an ended transfer succeeded")
		} else {
			t.Logf("second report: %v", err)
		}
		_ = c.Hangup(ctx, id, HangupNormal)
	})
	// Asterisk leaves the call alone after a failure; baresip hangs up by
	// itself (other phones resume the call).
	for _, state := range []TransferState{TransferDeclined, TransferUnavailable} {
		t.Run(string(state), func(t *testing.T) {
			id := transfer(t, state)
			if err := c.Hangup(ctx, id, HangupNormal); err != nil && !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
		})
	}
	// Attended: the phone has two calls from the app (A, the "caller",
	// bridged; B, the "consultation") and transfers A with Replaces naming
	// B. Asterisk resolves B's Call-ID to its channel.
	t.Run("attended", func(t *testing.T) {
		idA, idB, bridgeID := randomID("kcc-test-"), randomID("kcc-test-"), randomID("kcc-bridge-")
		sub := c.Subscribe(Filter{Channels: []string{idA, idB}})
		defer sub.Close()
		defer func() {
			for _, id := range []string{idA, idB} {
				_ = c.Hangup(context.WithoutCancel(ctx), id, HangupNormal)
			}
			_ = c.DestroyBridge(context.WithoutCancel(ctx), bridgeID)
		}()
		cc := peertest.StartCapture(t, "udp and host "+phoneIP+" and port 5081")
		for _, id := range []string{idA, idB} {
			if _, err := c.Originate(ctx, OriginateRequest{ChannelID: id, Endpoint: "PJSIP/1004", AppArgs: []string{"probe"},
				CallerID: `"Kcc Test" <14070>`, Timeout: 10 * time.Second,
				Variables: map[string]string{TransferHandlingVariable: TransferHandlingARI}}); err != nil {
				t.Fatalf("Originate: %v", err)
			}
			if ss := next(t, sub, "StasisStart").(StasisStart); ss.Channel.ID != id {
				t.Fatalf("StasisStart for %s, want %s", ss.Channel.ID, id)
			}
			if id == idA {
				if _, err := c.CreateBridge(ctx, bridgeID, "kcc transfer test"); err != nil {
					t.Fatal(err)
				}
				if err := c.AddChannel(ctx, bridgeID, idA); err != nil {
					t.Fatal(err)
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
		chB, err := c.Channel(ctx, idB)
		if err != nil {
			t.Fatal(err)
		}
		pk := cc.Stop()
		var invite, ok200 []byte
		for _, p := range pk {
			if bytes.HasPrefix(p.Payload, []byte("INVITE ")) && bytes.Contains(p.Payload, []byte(chB.ProtocolID)) {
				invite = p.Payload
			}
			if bytes.HasPrefix(p.Payload, []byte("SIP/2.0 200")) && bytes.Contains(p.Payload, []byte(chB.ProtocolID)) && bytes.Contains(p.Payload, []byte(" INVITE\r\n")) {
				ok200 = p.Payload
			}
		}
		if invite == nil || ok200 == nil {
			t.Fatalf("INVITE or 200 of call B (%s) not captured", chB.ProtocolID)
		}
		tagOf := func(msg []byte, h string) string {
			m := regexp.MustCompile(`(?mi)^` + h + `:[^\r]*;tag=([^;>\s\r]+)`).FindSubmatch(msg)
			if m == nil {
				t.Fatalf("no %s tag in:\n%s", h, msg)
			}
			return string(m[1])
		}
		// Asterisk's own tag (From of its INVITE) is the local tag of its
		// dialog, which Replaces' to-tag names (RFC 3891 §3).
		replaces := url.QueryEscape(chB.ProtocolID + ";to-tag=" + tagOf(invite, "From") + ";from-tag=" + tagOf(ok200, "To"))
		if m, err := phone.Cmd("line", "1"); err != nil || !m.OK {
			t.Fatalf("baresip line 1: %+v, %v", m, err)
		}
		if m, err := phone.Cmd("transfer", "sip:1004@127.0.0.1:5080?Replaces="+replaces); err != nil || !m.OK {
			t.Fatalf("baresip transfer: %+v, %v", m, err)
		}
		tr := next(t, sub, "ChannelTransfer").(ChannelTransfer)
		t.Logf("attended: channel %s refer_to %+v", tr.Channel(), tr.ReferTo.RequestedDestination)
		if !tr.Attended() {
			t.Errorf("attended transfer not recognised: %+v", tr.ReferTo)
		}
		if got, want := tr.ReferTo.RequestedDestination.ProtocolID, chB.ProtocolID; got != want {
			t.Errorf("protocol_id = %q, want B's Call-ID %q", got, want)
		}
		if tr.ReferTo.DestinationChannel == nil || tr.ReferTo.DestinationChannel.ID != idB {
			t.Errorf("destination_channel = %+v, want %s", tr.ReferTo.DestinationChannel, idB)
		}
		if err := c.TransferProgress(ctx, tr.Channel(), TransferDeclined); err != nil {
			t.Errorf("TransferProgress: %v", err)
		}
	})
	t.Run("no transfer under way", func(t *testing.T) {
		id := randomID("kcc-test-")
		sub := c.Subscribe(Filter{Channels: []string{id}})
		defer sub.Close()
		if _, err := c.Originate(ctx, OriginateRequest{ChannelID: id, Endpoint: "PJSIP/1004", AppArgs: []string{"probe"}, Timeout: 10 * time.Second}); err != nil {
			t.Fatalf("Originate: %v", err)
		}
		next(t, sub, "StasisStart")
		// Asterisk 22.10 accepts it (204) and sends nothing to the phone.
		if err := c.TransferProgress(ctx, id, TransferAnswered); err != nil {
			t.Errorf("report without a REFER: %v", err)
		}
		if err := c.Hangup(ctx, id, HangupNormal); err != nil {
			t.Error(err)
		}
		next(t, sub, "ChannelDestroyed")
	})
	t.Run("bad state", func(t *testing.T) {
		if err := c.TransferProgress(ctx, randomID("kcc-test-"), TransferState("done")); err == nil {
			t.Error("unknown state accepted")
		}
	})

	pkts := capture.Stop()
	phoneAddr, ast := netip.MustParseAddr(phoneIP), netip.MustParseAddr("127.0.0.1")
	var frags []string
	frag := regexp.MustCompile(`SIP/2\.0 \d{3} [^\r\n]*`)
	for _, p := range pkts {
		if p.Src.Addr() == ast && p.Dst.Addr() == phoneAddr && bytes.HasPrefix(p.Payload, []byte("NOTIFY ")) {
			if i := bytes.Index(p.Payload, []byte("\r\n\r\n")); i >= 0 {
				frags = append(frags, string(frag.Find(p.Payload[i:])))
			}
		}
	}
	t.Logf("sipfrags Asterisk sent to the phone: %q", frags)
	want := []string{"SIP/2.0 100 Trying", "SIP/2.0 200 OK", "SIP/2.0 100 Trying", "SIP/2.0 603 Decline",
		"SIP/2.0 100 Trying", "SIP/2.0 503 Service Unavailable", "SIP/2.0 100 Trying", "SIP/2.0 603 Decline"}
	if len(frags) != len(want) {
		t.Errorf("NOTIFY sipfrags %q, want %q", frags, want)
	}
	for i := range min(len(frags), len(want)) {
		if frags[i] != want[i] {
			t.Errorf("NOTIFY %d sipfrag %q, want %q", i, frags[i], want[i])
		}
	}
}
