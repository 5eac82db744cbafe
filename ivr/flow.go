package ivr

import (
	"go.yaml.in/yaml/v3"

	"kcc/hours"
)

// Flow is a parsed flow file before validation: the file's shape with the
// position of everything in it, so Compile and tools (validate, graph) can
// point at the line a problem comes from. Parse fills it; nothing in it has
// been checked beyond its shape and its keys.
type Flow struct {
	File    string // the name given to Parse, used in positions
	Version string // short hex hash of the source bytes
	Pos     Pos    // the top-level map

	Name      *Str
	Numbers   []Str
	Languages []Str
	Start     *Str
	TimeZone  *Str
	Vars      []Var       // declared variables with their initial values, in file order
	Schedules []*Schedule // named schedules, in file order
	Nodes     []*Node     // the named nodes, in file order
}

// Str is a scalar from a flow file and where it was written.
type Str struct {
	Value string
	Pos   Pos
}

// Var is a variable and its value as written under vars or set.
type Var struct {
	Name  Str
	Value Str
}

// Schedule is an opening-hours schedule as written, named under schedules
// or inline in an hours node.
type Schedule struct {
	Name   string // empty for an inline schedule
	Pos    Pos    // the name for a named schedule, the map for an inline one
	Config hours.Config
	// node is the schedule's YAML map, to which hours.Problem.Node leads
	// Compile for positions.
	node *yaml.Node
}

// Node is one node as written: a named node under nodes, or an inline node
// written as an action. Exactly one of Play, Menu, Input, Set, Branch, Goto,
// Hours, Queue, Callback, Transfer, Hangup and Incident should be set;
// Compile checks that.
type Node struct {
	Name string // empty for an inline node
	Pos  Pos    // the name for a named node, the map for an inline one

	Play    *Prompts
	BargeIn *Str // only with Play
	Menu    *Menu
	Input   *Input
	Set     *Set
	Branch  *Branch
	Goto    *Str
	Hours   *HoursRef
	// Open, Closed, Holiday and EarlyClose belong to an hours node.
	Open, Closed, Holiday, EarlyClose *Action
	Queue                             *Str
	Topic                             *Str  // only with Queue
	Priority                          *Str  // only with Queue
	Skills                            []Str // only with Queue
	Care                              *Str  // only with Queue
	// Unavailable is where a queue node goes when the queue refuses the
	// caller (full, or without agents); only with Queue.
	Unavailable *Action
	Callback    *Callback
	Transfer    *Transfer
	Hangup      *Str
	Incident    *Str
	Next        *Str
}

// Prompts is a list of prompts to play (a single item in the file is a list
// of one): prompt names and say items.
type Prompts struct {
	Pos   Pos
	Items []PromptItem
}

// PromptItem is a prompt name (Name) or a value to speak (Say).
type PromptItem struct {
	Name Str
	Say  *Say
}

// Say is a say item: speak a variable or a value with the prompt catalogue's
// sayers.
type Say struct {
	Pos    Pos
	Kind   *Str // digits, number, ordinal or minutes
	Var    *Str
	Value  *Str
	Approx *Str
}

// Menu is the menu part of a node.
type Menu struct {
	Pos       Pos
	Prompt    *Prompts
	Options   []MenuOption // in file order
	Timeout   *Str         // a Go duration, e.g. "4s"
	Retries   *Str         // a whole number
	Invalid   *Action
	NoInput   *Action
	Exhausted *Action
}

// MenuOption is one key of a menu and what it does.
type MenuOption struct {
	Key    Str
	Action *Action
}

// Input is the input part of a node: digits collected into a variable.
type Input struct {
	Pos        Pos
	Prompt     *Prompts
	Var        *Str
	Min, Max   *Str
	Terminator *Str
	Timeout    *Str
	InterDigit *Str
	Pattern    *Str
	Retries    *Str
	Invalid    *Action
	NoInput    *Action
	Exhausted  *Action
}

// Set is the set part of a node: variables and their new values.
type Set struct {
	Pos  Pos
	Vars []Var
}

// Branch is the branch part of a node.
type Branch struct {
	Pos     Pos
	Cases   []*Case
	Default *Action
}

// Case is one case of a branch: conditions that must all hold, and where to
// go then.
type Case struct {
	Pos              Pos
	Var              *Str
	Equals           *Str
	Matches          *Str
	Caller           []Str
	Time             *Str
	Days             []Str
	Open             *Str
	Closed           *Str
	Incident         *Str
	Queue            *Str
	WaitingAtLeast   *Str
	WaitingBelow     *Str
	AvailableAtLeast *Str
	AvailableBelow   *Str
	Next             *Action
}

// Callback is the callback part of a node: the queue in which the caller
// keeps a place while waiting to be called back, and what the agent sees.
type Callback struct {
	Pos      Pos
	Queue    *Str
	Topic    *Str
	Priority *Str
	Skills   []Str
}

// Transfer is the transfer part of a node: the name of a transfer target
// from kcc's configuration.
type Transfer struct {
	Pos    Pos
	Target *Str
}

// HoursRef is the schedule of an hours node: a name from the flow's
// schedules (Name) or an inline schedule (Inline).
type HoursRef struct {
	Pos    Pos
	Name   *Str
	Inline *Schedule
}

// Action is where the flow goes after a menu outcome or a decision: either
// the name of a node (Ref) or an inline node (Node).
type Action struct {
	Pos  Pos
	Ref  string
	Node *Node
}
