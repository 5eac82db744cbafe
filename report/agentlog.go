package report

import (
	"time"

	"kcc/store"
)

// queue_log agent events that only the agent report reads (the others are
// store.QL* constants). PAUSEALL/UNPAUSEALL are written by Asterisk when a
// member is paused in every queue at once; AGENTCALLBACKLOGIN/-LOGOFF by
// old (chan_agent) versions.
const (
	qlPauseAll       = "PAUSEALL"
	qlUnpauseAll     = "UNPAUSEALL"
	qlCallbackLogin  = "AGENTCALLBACKLOGIN"
	qlCallbackLogoff = "AGENTCALLBACKLOGOFF"
	qlAllQueues      = "" // the queue of a pause in every queue
)

// agentEvent reports whether queue_log event ev matters to agentLog.
func agentEvent(ev string) bool {
	switch ev {
	case store.QLQueueStart, store.QLAgentLogin, qlCallbackLogin, store.QLAgentLogoff, qlCallbackLogoff,
		store.QLAddMember, store.QLRemoveMember, store.QLPause, qlPauseAll, store.QLUnpause, qlUnpauseAll,
		store.QLConnect, store.QLCompleteCaller, store.QLCompleteAgent, store.QLBlindTransfer, store.QLAttendedTransfer:
		return true
	}
	return false
}

// qlAgent is what queue_log says of one agent: its logins, queue
// memberships, pauses and calls in progress, from which its state follows.
type qlAgent struct {
	login     bool            // AGENTLOGIN without AGENTLOGOFF
	queues    map[string]bool // ADDMEMBER without REMOVEMEMBER
	pausedAll bool
	allReason string
	paused    map[string]string // queue -> reason of its pause
	lastPause string            // reason of the latest pause, for the agent's state
	calls     map[string]bool   // callids between CONNECT and their end

	state, reason string // the state last reported
}

// derive returns the agent's state: on a call above all (an agent may be
// paused during a call; the call is talk time), then logged out, paused
// (in every queue it is a member of), available.
func (a *qlAgent) derive() (state, reason string) {
	switch {
	case len(a.calls) > 0:
		return stateOnCall, ""
	case !a.login && len(a.queues) == 0:
		return stateLoggedOut, ""
	case a.pausedAll:
		// Asterisk writes PAUSEALL without a reason, followed by a PAUSE
		// with the reason in each queue.
		if a.allReason == "" {
			return statePaused, a.lastPause
		}
		return statePaused, a.allReason
	case len(a.paused) > 0 && a.pausedEverywhere():
		return statePaused, a.lastPause
	}
	return stateAvailable, ""
}

// pausedEverywhere reports whether every queue the agent is a member of is
// paused (true for an agent known only by AGENTLOGIN).
func (a *qlAgent) pausedEverywhere() bool {
	for q := range a.queues {
		if _, ok := a.paused[q]; !ok {
			return false
		}
	}
	return true
}

// agentLog turns queue_log rows into agent state changes for the agent
// report: history imported from Asterisk has no agent_states rows.
type agentLog struct {
	agents map[string]*qlAgent
	emit   func(agent, state, reason string, at time.Time)
}

func newAgentLog(emit func(agent, state, reason string, at time.Time)) *agentLog {
	return &agentLog{agents: map[string]*qlAgent{}, emit: emit}
}

// row applies one queue_log row; rows must come in time order.
func (l *agentLog) row(e store.QueueLogEntry) {
	if !agentEvent(e.Event) {
		return
	}
	if e.Event == store.QLQueueStart {
		// Asterisk (re)started: no call survives that, whatever was
		// logged before it.
		for name, a := range l.agents {
			if len(a.calls) > 0 {
				clear(a.calls)
				l.report(name, a, e.Time)
			}
		}
		return
	}
	if e.Agent == "" || e.Agent == store.QLNone {
		return
	}
	queue := e.Queue
	if queue == store.QLNone {
		queue = qlAllQueues
	}
	a := l.agents[e.Agent]
	if a == nil {
		a = &qlAgent{queues: map[string]bool{}, paused: map[string]string{}, calls: map[string]bool{}, state: stateLoggedOut}
	}
	switch e.Event {
	case store.QLAgentLogin, qlCallbackLogin:
		a.login = true
	case store.QLAgentLogoff, qlCallbackLogoff:
		a.login = false
	case store.QLAddMember:
		if queue != qlAllQueues {
			a.queues[queue] = true
		}
	case store.QLRemoveMember:
		delete(a.queues, queue)
		delete(a.paused, queue)
	case store.QLPause, qlPauseAll:
		reason := field(e.Data, 0)
		if e.Event == qlPauseAll || queue == qlAllQueues {
			a.pausedAll, a.allReason = true, reason
		} else {
			a.paused[queue] = reason
		}
		a.lastPause = reason
	case store.QLUnpause, qlUnpauseAll:
		if e.Event == qlUnpauseAll || queue == qlAllQueues {
			a.pausedAll = false
			clear(a.paused)
		} else {
			delete(a.paused, queue)
			if a.pausedAll {
				// Unpaused in one queue after a pause in all: still
				// paused in the others it is a member of.
				a.pausedAll = false
				for q := range a.queues {
					if q != queue {
						a.paused[q] = a.allReason
					}
				}
			}
		}
	case store.QLConnect:
		a.calls[e.CallID] = true
	case store.QLCompleteCaller, store.QLCompleteAgent, store.QLBlindTransfer, store.QLAttendedTransfer:
		delete(a.calls, e.CallID)
	default:
		return
	}
	if !a.login && len(a.queues) == 0 {
		// Logged out of everything: pauses end with the session.
		a.pausedAll = false
		clear(a.paused)
	}
	l.agents[e.Agent] = a
	l.report(e.Agent, a, e.Time)
}

func (l *agentLog) report(name string, a *qlAgent, at time.Time) {
	state, reason := a.derive()
	if state == a.state && reason == a.reason {
		return
	}
	a.state, a.reason = state, reason
	l.emit(name, state, reason, at)
}

func field(data []string, i int) string {
	if i < len(data) {
		return data[i]
	}
	return ""
}
