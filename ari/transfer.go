package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// TransferHandlingVariable is the channel function that decides who
// carries out a transfer a PJSIP phone asks for with REFER. Set to
// TransferHandlingARI (as an originate variable) it makes Asterisk accept
// the REFER (202, NOTIFY 100 Trying), raise a ChannelTransfer event and
// leave the rest to the app, which reports the outcome with
// Client.TransferProgress. Since Asterisk 22.3.
const (
	TransferHandlingVariable = "PJSIP_TRANSFER_HANDLING()"
	TransferHandlingARI      = "ari-only"
)

// ChannelTransfer: a phone asked to transfer its call (SIP REFER) on a
// channel whose transfer handling is ari-only. Asterisk has accepted the
// REFER (202, NOTIFY 100 Trying) and does nothing more; the app carries the
// transfer out and reports the outcome with Client.TransferProgress.
//
// Asterisk sends the event twice (verified on 22.10): once for the REFER,
// with State empty, and again as an echo of each report the app makes,
// with State set to the reported TransferState. Act only on the first
// ([ChannelTransfer.Requested]).
//
// A blind transfer (Refer-To: <sip:afval@...>) carries only the Refer-To
// URI's user part, in ReferTo.RequestedDestination.Destination; the rest of
// the URI is not passed on. An attended one (Refer-To with Replaces) also
// carries the consulted call's SIP Call-ID in ProtocolID, the Replaces
// tags as additional parameters "from" and "to", and, when that call is on
// this Asterisk, its channel (ReferTo.DestinationChannel).
type ChannelTransfer struct {
	Header
	// State is empty for the REFER itself and the reported state in the
	// echo of a report.
	State      TransferState `json:"state,omitempty"`
	ReferTo    ReferTo       `json:"refer_to"`
	ReferredBy ReferredBy    `json:"referred_by"`
}

// Requested reports whether the event announces a REFER rather than
// echoing the app's own progress report.
func (e ChannelTransfer) Requested() bool { return e.State == "" }

// Channel returns the id of the channel the REFER arrived on: the one to
// report progress on.
func (e ChannelTransfer) Channel() string { return e.ReferredBy.SourceChannel.ID }

// Attended reports whether the REFER names a call to replace (Refer-To
// with Replaces) rather than a destination to dial.
func (e ChannelTransfer) Attended() bool {
	return e.ReferTo.RequestedDestination.ProtocolID != "" || e.ReferTo.DestinationChannel != nil
}

// ReferTo is where the phone wants the call to go.
type ReferTo struct {
	RequestedDestination RequestedDestination `json:"requested_destination"`
	// DestinationChannel is the channel of the call to be replaced
	// (attended transfer), when Asterisk knows it.
	DestinationChannel *Channel `json:"destination_channel,omitempty"`
	// ConnectedChannel is the channel connected to DestinationChannel.
	ConnectedChannel *Channel `json:"connected_channel,omitempty"`
	// Bridge joins DestinationChannel and ConnectedChannel.
	Bridge *Bridge `json:"bridge,omitempty"`
}

// RequestedDestination is the Refer-To as the phone sent it.
type RequestedDestination struct {
	// ProtocolID is the SIP Call-ID named by Replaces (attended only).
	ProtocolID string `json:"protocol_id,omitempty"`
	// Destination is the Refer-To URI's user part, e.g. "afval".
	Destination string `json:"destination,omitempty"`
	// AdditionalProtocolParams are further protocol details: for an
	// attended transfer the Replaces tags, named "to" and "from".
	AdditionalProtocolParams []AdditionalParam `json:"additional_protocol_params,omitempty"`
}

// Param returns the value of the additional parameter name ("" if absent).
func (d RequestedDestination) Param(name string) string {
	for _, p := range d.AdditionalProtocolParams {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Replaces rebuilds the Replaces value of an attended transfer
// ("call-id;to-tag=...;from-tag=...", RFC 3891), or "" for a blind one.
func (d RequestedDestination) Replaces() string {
	if d.ProtocolID == "" {
		return ""
	}
	r := d.ProtocolID
	if to := d.Param("to"); to != "" {
		r += ";to-tag=" + to
	}
	if from := d.Param("from"); from != "" {
		r += ";from-tag=" + from
	}
	return r
}

// AdditionalParam is one protocol-specific name and value.
type AdditionalParam struct {
	Name  string `json:"parameter_name"`
	Value string `json:"parameter_value"`
}

// ReferredBy is the side that sent the REFER.
type ReferredBy struct {
	// SourceChannel is the channel the REFER arrived on.
	SourceChannel Channel `json:"source_channel"`
	// ConnectedChannel is the channel bridged with SourceChannel, if any.
	ConnectedChannel *Channel `json:"connected_channel,omitempty"`
	// Bridge joins SourceChannel and ConnectedChannel.
	Bridge *Bridge `json:"bridge,omitempty"`
}

func (e ChannelTransfer) refs() refs {
	r := refs{channels: [2]string{e.ReferredBy.SourceChannel.ID}}
	if e.ReferTo.DestinationChannel != nil {
		r.channels[1] = e.ReferTo.DestinationChannel.ID
	}
	if e.ReferredBy.Bridge != nil {
		r.bridge = e.ReferredBy.Bridge.ID
	}
	return r
}

// TransferState is the outcome of a transfer the app reports to the phone
// with Client.TransferProgress. Asterisk turns it into the sipfrag of a
// NOTIFY on the REFER's subscription.
type TransferState string

// Transfer states Asterisk accepts, with the sipfrag of the NOTIFY each
// gives (verified on 22.10 but for TransferInProgress). All but
// TransferInProgress end the REFER's subscription.
const (
	// TransferInProgress: still trying; Asterisk already sent a 100
	// Trying when it accepted the REFER.
	TransferInProgress TransferState = "channel_progress"
	// TransferAnswered: the transfer succeeded (sipfrag 200 OK); the phone
	// then hangs up its call.
	TransferAnswered TransferState = "channel_answered"
	// TransferUnavailable: the destination cannot be reached (sipfrag
	// 503 Service Unavailable). Asterisk 22.10 echoes it in ChannelTransfer
	// as TransferDeclined.
	TransferUnavailable TransferState = "channel_unavailable"
	// TransferDeclined: the transfer is refused (sipfrag 603 Decline).
	// Asterisk leaves the call as it is; what the phone does next is its
	// own affair (baresip hangs up, most desk phones resume the call).
	TransferDeclined TransferState = "channel_declined"
)

var transferStates = []TransferState{TransferInProgress, TransferAnswered, TransferUnavailable, TransferDeclined}

// TransferProgress reports the progress or outcome of the transfer asked
// for on channelID (ChannelTransfer.Channel()) to the phone, which gets it
// as a NOTIFY; Asterisk then echoes it as a ChannelTransfer with State set.
// A channel that is gone (the phone hangs up after a success) gives an
// error matching ErrNotFound. Asterisk 22.10 accepts a report for a
// channel without a transfer under way and sends nothing.
func (c *Client) TransferProgress(ctx context.Context, channelID string, state TransferState) error {
	if err := checkID("channel id", channelID); err != nil {
		return fmt.Errorf("transfer progress: %w", err)
	}
	if !slices.Contains(transferStates, state) {
		return fmt.Errorf("transfer progress %s: unknown state %q", channelID, truncate(string(state), 32))
	}
	q := url.Values{"states": {string(state)}}
	if err := c.do(ctx, http.MethodPost, "/channels/"+seg(channelID)+"/transfer_progress", q, nil, nil); err != nil {
		return fmt.Errorf("transfer progress %s: %w", channelID, err)
	}
	return nil
}
