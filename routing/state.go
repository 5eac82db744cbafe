package routing

import (
	"fmt"
	"time"

	"kcc/call"
)

// AgentState is where an agent is in the routing state machine. The zero
// value is LoggedOut.
type AgentState int

// Agent states. Only Available agents receive offers; logged-out and
// paused agents do not count as staff for wait estimates.
const (
	LoggedOut AgentState = iota // phone not registered
	Available                   // idle, may be offered a contact
	Ringing                     // an offer is ringing the agent's phone
	OnCall                      // talking to a contact
	WrapUp                      // after-call work; available when it ends
	// Busy: logged in and otherwise available, but its phone is on a call
	// kcc did not route (e.g. a colleague dialled it directly on Asterisk).
	Busy
	// Paused: logged in but taking no contacts, for a reason (Pause, or
	// too many missed offers). Only Unpause ends it, not a new login.
	Paused
)

var agentStateNames = [...]string{
	LoggedOut: "logged-out",
	Available: "available",
	Ringing:   "ringing",
	OnCall:    "on-call",
	WrapUp:    "wrap-up",
	Busy:      "busy",
	Paused:    "paused",
}

// String returns the state's lower-case name, e.g. "on-call".
func (s AgentState) String() string {
	if s >= 0 && int(s) < len(agentStateNames) {
		return agentStateNames[s]
	}
	return fmt.Sprintf("AgentState(%d)", int(s))
}

// MarshalText lets snapshots and events encode the state by name.
func (s AgentState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// AgentStatus is a snapshot of one agent, as returned by Router.Agents.
type AgentStatus struct {
	ID    string
	Name  string
	State AgentState
	// Since is when the agent entered State.
	Since time.Time
	// IdleSince orders available agents: the earliest gets the next offer.
	// It is set at login and at the end of wrap-up.
	IdleSince time.Time
	// Contact is the contact ringing the agent or on call with it, if any.
	Contact call.ID
	// Paused is set while the agent is paused, and also while a pause it
	// asked for during a call or wrap-up waits for them to end; Reason is
	// the pause's reason.
	Paused bool
	Reason string
	// Misses counts the offers in a row the agent did not answer.
	Misses int
	// TalkToday is the agent's talk time today, as LeastTalkTime sees it.
	TalkToday time.Duration
}
