// Package promql parses and evaluates the subset of PromQL that the authframe dashboard
// uses: vector selectors with label matchers, rate and increase over a range,
// sum/avg/min/max with by, histogram_quantile, the four arithmetic operators and
// parentheses. Anything outside that subset is a parse error, so that a panel whose query
// this package cannot check (for its metric names) or evaluate (for the rendering of the
// dashboard) fails the dashboard's test instead of passing unseen.
//
// It is no replacement for Prometheus' own engine: rate is the plain slope between the
// first and last samples of the window (with counter resets handled), without
// Prometheus' extrapolation to the window's edges.
package promql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Expr is a parsed expression.
type Expr interface{ expr() }

// Selector selects series by metric name and label matchers; with Range > 0 it is a range
// selector (only valid as the argument of rate or increase).
type Selector struct {
	Name     string
	Matchers []Matcher
	Range    time.Duration
}

// MatchOp is the operator of a label matcher.
type MatchOp string

// The label matcher operators.
const (
	MatchEqual     MatchOp = "="
	MatchNotEqual  MatchOp = "!="
	MatchRegexp    MatchOp = "=~"
	MatchNotRegexp MatchOp = "!~"
)

// Matcher is one label matcher of a selector.
type Matcher struct {
	Label string
	Op    MatchOp
	Value string
	re    *regexp.Regexp
}

// Matches reports whether the label value v satisfies the matcher.
func (m Matcher) Matches(v string) bool {
	switch m.Op {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// Call is a function call: rate(range), increase(range), histogram_quantile(q, vector).
type Call struct {
	Func string
	Args []Expr
}

// Aggregate is sum, avg, min or max, optionally by a list of labels.
type Aggregate struct {
	Op string
	By []string
	// Grouped is true when a by clause was given (even an empty one).
	Grouped bool
	Expr    Expr
}

// Binary is an arithmetic operation between two expressions.
type Binary struct {
	Op          byte // + - * /
	Left, Right Expr
}

// Number is a literal.
type Number float64

// Paren is a parenthesised expression.
type Paren struct{ Expr Expr }

func (*Selector) expr()  {}
func (*Call) expr()      {}
func (*Aggregate) expr() {}
func (*Binary) expr()    {}
func (Number) expr()     {}
func (*Paren) expr()     {}

// Vars are the values of the dashboard's variables ($name, ${name}, $__rate_interval),
// substituted into the query text before it is parsed.
type Vars map[string]string

// Expand replaces every $name and ${name} of q with its value in v. An unknown variable is
// an error, so that a typo in a panel's query does not go unnoticed.
func Expand(q string, v Vars) (string, error) {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if q[i] != '$' {
			b.WriteByte(q[i])
			continue
		}
		j := i + 1
		braced := j < len(q) && q[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(q) && (q[k] == '_' || unicode.IsLetter(rune(q[k])) || unicode.IsDigit(rune(q[k]))) {
			k++
		}
		name := q[j:k]
		if braced {
			if k >= len(q) || q[k] != '}' {
				return "", fmt.Errorf("promql: unterminated ${ at offset %d", i)
			}
			k++
		}
		val, ok := v[name]
		if name == "" || !ok {
			return "", fmt.Errorf("promql: unknown variable $%s at offset %d", name, i)
		}
		b.WriteString(val)
		i = k - 1
	}
	return b.String(), nil
}

// Parse parses q, which must not contain variables (see Expand).
func Parse(q string) (Expr, error) {
	p := &parser{src: q}
	p.next()
	e, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf("unexpected %q after the expression", p.tok.text)
	}
	if err := checkTypes(e, false); err != nil {
		return nil, err
	}
	return e, nil
}

// MetricNames returns the metric name of every selector of e, in order of appearance.
func MetricNames(e Expr) []string {
	var names []string
	Walk(e, func(x Expr) {
		if s, ok := x.(*Selector); ok {
			names = append(names, s.Name)
		}
	})
	return names
}

// Walk calls f for e and every expression inside it, depth first.
func Walk(e Expr, f func(Expr)) {
	f(e)
	switch x := e.(type) {
	case *Call:
		for _, a := range x.Args {
			Walk(a, f)
		}
	case *Aggregate:
		Walk(x.Expr, f)
	case *Binary:
		Walk(x.Left, f)
		Walk(x.Right, f)
	case *Paren:
		Walk(x.Expr, f)
	}
}

// checkTypes rejects a range selector outside rate/increase and an instant one inside.
func checkTypes(e Expr, rangeWanted bool) error {
	switch x := e.(type) {
	case *Selector:
		if rangeWanted != (x.Range > 0) {
			if rangeWanted {
				return fmt.Errorf("promql: %s needs a range [d] here", x.Name)
			}
			return fmt.Errorf("promql: range selector %s is only allowed inside rate or increase", x.Name)
		}
		return nil
	case *Call:
		switch x.Func {
		case "rate", "increase":
			if len(x.Args) != 1 {
				return fmt.Errorf("promql: %s takes one range selector", x.Func)
			}
			if _, ok := x.Args[0].(*Selector); !ok {
				return fmt.Errorf("promql: %s takes a range selector", x.Func)
			}
			return checkTypes(x.Args[0], true)
		case "histogram_quantile":
			if len(x.Args) != 2 {
				return fmt.Errorf("promql: histogram_quantile takes a quantile and a vector")
			}
			if _, ok := x.Args[0].(Number); !ok {
				return fmt.Errorf("promql: histogram_quantile's quantile must be a number")
			}
			return checkTypes(x.Args[1], false)
		}
		return fmt.Errorf("promql: function %s is not supported", x.Func)
	case *Aggregate:
		return checkTypes(x.Expr, false)
	case *Binary:
		if err := checkTypes(x.Left, false); err != nil {
			return err
		}
		return checkTypes(x.Right, false)
	case *Paren:
		return checkTypes(x.Expr, rangeWanted)
	}
	return nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tNumber
	tString
	tDuration
	tPunct
)

type token struct {
	kind tokKind
	text string
	pos  int
}

type parser struct {
	src string
	pos int
	tok token
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("promql: offset %d in %q: %s", p.tok.pos, p.src, fmt.Sprintf(format, args...))
}

// next reads the next token into p.tok; a lexical error (an unterminated string) becomes
// a punctuation token that no rule accepts, so it shows as an unexpected token.
func (p *parser) next() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	c := p.src[p.pos]
	switch {
	case c == '_' || c == ':' || isLetter(c):
		for p.pos < len(p.src) && (isLetter(p.src[p.pos]) || isDigit(p.src[p.pos]) || p.src[p.pos] == '_' || p.src[p.pos] == ':') {
			p.pos++
		}
		p.tok = token{kind: tIdent, text: p.src[start:p.pos], pos: start}
	case isDigit(c) || c == '.':
		for p.pos < len(p.src) && (isDigit(p.src[p.pos]) || p.src[p.pos] == '.' || isLetter(p.src[p.pos])) {
			p.pos++
		}
		text := p.src[start:p.pos]
		kind := tNumber
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			kind = tDuration
		}
		p.tok = token{kind: kind, text: text, pos: start}
	case c == '"' || c == '\'':
		p.pos++
		var b strings.Builder
		for p.pos < len(p.src) && p.src[p.pos] != c {
			if p.src[p.pos] == '\\' && p.pos+1 < len(p.src) {
				p.pos++
				switch p.src[p.pos] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(p.src[p.pos])
				}
			} else {
				b.WriteByte(p.src[p.pos])
			}
			p.pos++
		}
		if p.pos >= len(p.src) {
			p.tok = token{kind: tPunct, text: "unterminated string", pos: start}
			return
		}
		p.pos++
		p.tok = token{kind: tString, text: b.String(), pos: start}
	default:
		for _, op := range []string{"=~", "!~", "!=", "==", ">=", "<="} {
			if strings.HasPrefix(p.src[p.pos:], op) {
				p.pos += len(op)
				p.tok = token{kind: tPunct, text: op, pos: start}
				return
			}
		}
		p.pos++
		p.tok = token{kind: tPunct, text: string(c), pos: start}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func (p *parser) expect(text string) error {
	if p.tok.kind != tPunct || p.tok.text != text {
		return p.errorf("want %q, got %q", text, p.tok.text)
	}
	p.next()
	return nil
}

var precedence = map[string]int{"+": 1, "-": 1, "*": 2, "/": 2}

// parseExpr is precedence climbing over the binary operators.
func (p *parser) parseExpr(minPrec int) (Expr, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tPunct {
		prec, ok := precedence[p.tok.text]
		if !ok || prec <= minPrec {
			break
		}
		op := p.tok.text[0]
		p.next()
		right, err := p.parseExpr(prec)
		if err != nil {
			return nil, err
		}
		left = &Binary{Op: op, Left: left, Right: right}
	}
	return left, nil
}

var aggregations = map[string]bool{"sum": true, "avg": true, "min": true, "max": true}

func (p *parser) parseUnary() (Expr, error) {
	switch p.tok.kind {
	case tNumber:
		v, _ := strconv.ParseFloat(p.tok.text, 64)
		p.next()
		return Number(v), nil
	case tPunct:
		if p.tok.text == "(" {
			p.next()
			e, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return &Paren{Expr: e}, nil
		}
		return nil, p.errorf("unexpected %q", p.tok.text)
	case tIdent:
		name := p.tok.text
		p.next()
		if aggregations[name] {
			return p.parseAggregate(name)
		}
		if p.tok.kind == tPunct && p.tok.text == "(" {
			return p.parseCall(name)
		}
		return p.parseSelector(name)
	}
	return nil, p.errorf("unexpected end of the expression")
}

func (p *parser) parseLabels() ([]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	labels := []string{}
	for !(p.tok.kind == tPunct && p.tok.text == ")") {
		if p.tok.kind != tIdent {
			return nil, p.errorf("want a label name, got %q", p.tok.text)
		}
		labels = append(labels, p.tok.text)
		p.next()
		if p.tok.kind == tPunct && p.tok.text == "," {
			p.next()
		}
	}
	p.next()
	return labels, nil
}

func (p *parser) parseAggregate(op string) (Expr, error) {
	a := &Aggregate{Op: op}
	if p.tok.kind == tIdent && p.tok.text == "by" {
		p.next()
		by, err := p.parseLabels()
		if err != nil {
			return nil, err
		}
		a.By, a.Grouped = by, true
	} else if p.tok.kind == tIdent && p.tok.text == "without" {
		return nil, p.errorf("without is not supported; use by")
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	e, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	a.Expr = e
	if p.tok.kind == tIdent && p.tok.text == "by" {
		if a.Grouped {
			return nil, p.errorf("two by clauses")
		}
		p.next()
		by, err := p.parseLabels()
		if err != nil {
			return nil, err
		}
		a.By, a.Grouped = by, true
	}
	return a, nil
}

func (p *parser) parseCall(name string) (Expr, error) {
	p.next() // (
	c := &Call{Func: name}
	for !(p.tok.kind == tPunct && p.tok.text == ")") {
		e, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, e)
		if p.tok.kind == tPunct && p.tok.text == "," {
			p.next()
			continue
		}
		if !(p.tok.kind == tPunct && p.tok.text == ")") {
			return nil, p.errorf("want , or ) in the arguments of %s, got %q", name, p.tok.text)
		}
	}
	p.next()
	return c, nil
}

func (p *parser) parseSelector(name string) (Expr, error) {
	if strings.HasPrefix(name, "__") || name == "by" || name == "without" {
		return nil, p.errorf("%q is not a metric name", name)
	}
	s := &Selector{Name: name}
	if p.tok.kind == tPunct && p.tok.text == "{" {
		p.next()
		for !(p.tok.kind == tPunct && p.tok.text == "}") {
			if p.tok.kind != tIdent {
				return nil, p.errorf("want a label name, got %q", p.tok.text)
			}
			m := Matcher{Label: p.tok.text}
			p.next()
			if p.tok.kind != tPunct {
				return nil, p.errorf("want a matcher operator, got %q", p.tok.text)
			}
			switch op := MatchOp(p.tok.text); op {
			case MatchEqual, MatchNotEqual, MatchRegexp, MatchNotRegexp:
				m.Op = op
			default:
				return nil, p.errorf("unknown matcher operator %q", op)
			}
			p.next()
			if p.tok.kind != tString {
				return nil, p.errorf("want a quoted label value, got %q", p.tok.text)
			}
			m.Value = p.tok.text
			if m.Op == MatchRegexp || m.Op == MatchNotRegexp {
				re, err := regexp.Compile("^(?:" + m.Value + ")$")
				if err != nil {
					return nil, p.errorf("matcher %s: %v", m.Label, err)
				}
				m.re = re
			}
			s.Matchers = append(s.Matchers, m)
			p.next()
			if p.tok.kind == tPunct && p.tok.text == "," {
				p.next()
			}
		}
		p.next()
	}
	if p.tok.kind == tPunct && p.tok.text == "[" {
		p.next()
		if p.tok.kind != tDuration {
			return nil, p.errorf("want a duration, got %q", p.tok.text)
		}
		d, err := time.ParseDuration(p.tok.text)
		if err != nil || d <= 0 {
			return nil, p.errorf("bad duration %q", p.tok.text)
		}
		s.Range = d
		p.next()
		if err := p.expect("]"); err != nil {
			return nil, err
		}
	}
	return s, nil
}
