package ivr

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
	Nodes     []*Node // the named nodes, in file order
}

// Str is a scalar from a flow file and where it was written.
type Str struct {
	Value string
	Pos   Pos
}

// Node is one node as written: a named node under nodes, or an inline node
// written as an action. Of Play, Menu, Set, Queue and Hangup exactly one
// should be set; Compile checks that.
type Node struct {
	Name string // empty for an inline node
	Pos  Pos    // the name for a named node, the map for an inline one

	Play   *Prompts
	Menu   *Menu
	Set    *Set
	Queue  *Str
	Topic  *Str // only with Queue
	Hangup *Str
	Next   *Str
}

// Prompts is a list of prompt names (a single name in the file is a list of
// one).
type Prompts struct {
	Pos   Pos
	Names []Str
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

// Set is the set part of a node.
type Set struct {
	Pos      Pos
	Language *Str
}

// Action is where the flow goes after a menu outcome: either the name of a
// node (Ref) or an inline node (Node).
type Action struct {
	Pos  Pos
	Ref  string
	Node *Node
}
