package ari

import (
	"os"
	"path/filepath"
	"testing"
)

// TestChannelTransferFields checks the frames recorded from Asterisk 22.10
// for what consumers rely on: the channel to report on, blind or attended,
// the destination's user part, and the Replaces value rebuilt from the
// attended frame's parameters.
func TestChannelTransferFields(t *testing.T) {
	tests := []struct {
		file        string
		channel     string
		destination string
		attended    bool
		replaces    string
		bridge      string
		consultedID string
		requested   bool
	}{
		{
			file: "channel_transfer_blind.json", channel: "kcc-test-883c4519c3d0", destination: "afval",
			bridge: "kcc-bridge-7a1e9db369ff", requested: true,
		},
		{
			file: "channel_transfer_attended.json", channel: "kcc-test-335bd83f9af4", destination: "1004", attended: true,
			replaces:    "89e0613e-b7bf-40f0-9e68-ead8a01e6388;to-tag=7c09493e-fb1b-4d98-9d05-924a12883697;from-tag=9e7e36fa29b8e910",
			bridge:      "kcc-bridge-a1f7a341663f",
			consultedID: "kcc-test-990aad03780a", requested: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "events", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := DecodeEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			tr, ok := ev.(ChannelTransfer)
			if !ok {
				t.Fatalf("got %T, want ChannelTransfer", ev)
			}
			if got := tr.Channel(); got != tt.channel {
				t.Errorf("Channel() = %q, want %q", got, tt.channel)
			}
			if got := tr.Requested(); got != tt.requested {
				t.Errorf("Requested() = %v, want %v", got, tt.requested)
			}
			if got := tr.Attended(); got != tt.attended {
				t.Errorf("Attended() = %v, want %v", got, tt.attended)
			}
			d := tr.ReferTo.RequestedDestination
			if got := d.Destination; got != tt.destination {
				t.Errorf("Destination = %q, want %q", got, tt.destination)
			}
			if got := d.Replaces(); got != tt.replaces {
				t.Errorf("Replaces() = %q, want %q", got, tt.replaces)
			}
			if tr.ReferredBy.Bridge == nil || tr.ReferredBy.Bridge.ID != tt.bridge {
				t.Errorf("referred_by bridge = %+v, want %q", tr.ReferredBy.Bridge, tt.bridge)
			}
			var consulted string
			if tr.ReferTo.DestinationChannel != nil {
				consulted = tr.ReferTo.DestinationChannel.ID
			}
			if consulted != tt.consultedID {
				t.Errorf("destination channel = %q, want %q", consulted, tt.consultedID)
			}
		})
	}
}

// TestChannelTransferEcho: Asterisk repeats ChannelTransfer with the state
// the app reported; that echo is not a new request.
func TestChannelTransferEcho(t *testing.T) {
	frames := eventFrames(t, filepath.Join("testdata", "events", "recorded-transfer-asterisk-22.10.1.jsonl"))
	var requests, echoes int
	for i, f := range frames {
		ev, err := DecodeEvent(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		tr := ev.(ChannelTransfer)
		if tr.Requested() {
			requests++
			continue
		}
		echoes++
		switch tr.State {
		case TransferAnswered, TransferDeclined:
		default:
			t.Errorf("frame %d: echo state %q, want one the test reported", i, tr.State)
		}
	}
	if requests != 4 || echoes != 4 {
		t.Errorf("got %d requests and %d echoes, want 4 and 4", requests, echoes)
	}
}

func TestRequestedDestinationReplaces(t *testing.T) {
	tests := []struct {
		name string
		d    RequestedDestination
		want string
	}{
		{"blind", RequestedDestination{Destination: "afval"}, ""},
		{"call id only", RequestedDestination{ProtocolID: "abc"}, "abc"},
		{"both tags", RequestedDestination{ProtocolID: "abc", AdditionalProtocolParams: []AdditionalParam{{"from", "f1"}, {"to", "t1"}}}, "abc;to-tag=t1;from-tag=f1"},
		{"unrelated params", RequestedDestination{ProtocolID: "abc", AdditionalProtocolParams: []AdditionalParam{{"x", "y"}}}, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Replaces(); got != tt.want {
				t.Errorf("Replaces() = %q, want %q", got, tt.want)
			}
		})
	}
}
