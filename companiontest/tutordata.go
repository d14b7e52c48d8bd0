package companiontest

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// The scripted tutor's content is data, kept apart from its behaviour
// (tutor.go) in the files under tutordata/, embedded in the binary:
//
//   - topics.json: the topics the tutor explains, in the order they are
//     tried; "science" comes before equations and arithmetic, "maths" after
//     them. A topic has a "name", the phrases that select it ("any": the
//     question contains one of them; "all": for some group, the question
//     contains a phrase of every set of the group), all in lower case, and
//     its explanation ("en", "zh").
//   - worked.json: the sentences that work the question's numbers, by
//     topic.
//   - solutions.json: the steps of the worked solutions of equations and
//     arithmetic, one sentence per step.
//   - replies.json: the greeting, the Socratic replies to questions the
//     tutor has no script for, and the sentences that mention the
//     question's numbers.
//   - units.json: the unit names that say what a number of the question is.
//   - operators.json: the words of arithmetic and the operators they stand
//     for, as [word, operator] pairs; at one place of the question, the
//     first pair that matches wins.
//   - stopwords.txt: English words that are no key words, one per line;
//     lines starting with # are comments.
//
// A text has an "en" and a "zh" version. Each is a string or, when long,
// an array of strings that are concatenated, so that a diff shows which
// sentence changed. The code fills in the placeholders {name} of a text;
// the values are not searched for placeholders in turn. Every field must
// be present and non-empty, except those marked omitempty.

//go:embed tutordata
var tutorFiles embed.FS

// tutorScript is the content of the embedded files. The test of loadScript
// guarantees that they load, so mustLoadScript never panics.
var tutorScript = mustLoadScript(tutorFiles, "tutordata")

// stopwords are the English words that are no key words (stopwords.txt):
// the tutor does not quote them and the fake embeddings weigh them little.
var stopwords = tutorScript.stopwords

// script is the tutor's content.
type script struct {
	science, maths []*topic
	worked         worked
	solutions      solutions
	replies        replies
	units          units
	operators      *strings.Replacer
	stopwords      map[string]bool
}

// text is a piece of content in English and Chinese.
type text struct {
	EN prose `json:"en"`
	ZH prose `json:"zh"`
}

// in returns the text in Chinese if zh, else in English.
func (t *text) in(zh bool) string {
	if zh {
		return string(t.ZH)
	}
	return string(t.EN)
}

// fill returns the text in Chinese if zh, else in English, with its
// placeholders filled in from args (see fill).
func (t *text) fill(zh bool, args ...string) string { return fill(t.in(zh), args...) }

// prose is a string that the files write as a string or as an array of
// strings to concatenate.
type prose string

// UnmarshalJSON implements [json.Unmarshaler].
func (p *prose) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*p = prose(s)
		return nil
	}
	var parts []string
	if err := json.Unmarshal(data, &parts); err != nil {
		return errors.New("a text must be a string or an array of strings")
	}
	*p = prose(strings.Join(parts, ""))
	return nil
}

// fill returns tmpl with each placeholder {name} replaced by the value that
// follows name in args, which alternates names and values. A placeholder
// without a value stays as it is.
func fill(tmpl string, args ...string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		j += i
		b.WriteString(tmpl[:i])
		v, ok := "", false
		for k := 0; k+1 < len(args); k += 2 {
			if args[k] == tmpl[i+1:j] {
				v, ok = args[k+1], true
				break
			}
		}
		if ok {
			b.WriteString(v)
		} else {
			b.WriteString(tmpl[i : j+1])
		}
		tmpl = tmpl[j+1:]
	}
	b.WriteString(tmpl)
	return b.String()
}

// worked is worked.json: how the topics work the question's numbers.
type worked struct {
	Newton2 struct {
		Force        text `json:"force"`
		Acceleration text `json:"acceleration"`
		Mass         text `json:"mass"`
	} `json:"newton2"`
	Kinetic  text `json:"kinetic"`
	FreeFall struct {
		Time   text `json:"time"`
		Height text `json:"height"`
	} `json:"freefall"`
	Ohm struct {
		Current    text `json:"current"`
		Voltage    text `json:"voltage"`
		Resistance text `json:"resistance"`
	} `json:"ohm"`
	Density    text `json:"density"`
	Pressure   text `json:"pressure"`
	Speed      text `json:"speed"`
	Pythagoras text `json:"pythagoras"`
	Circle     struct {
		Area     text `json:"area"`
		Diameter text `json:"diameter"` // the radius from the diameter, before the area
	} `json:"circle"`
	Percent text `json:"percent"`
	Prime   struct {
		Neither   text `json:"neither"`
		Prime     text `json:"prime"`
		Composite text `json:"composite"`
	} `json:"prime"`
	Average text `json:"average"`
}

// solutions is solutions.json: the steps of worked solutions.
type solutions struct {
	Linear struct {
		Intro           text `json:"intro"`
		Collect         text `json:"collect"`
		UnitCoefficient text `json:"unitCoefficient"`
		Divide          text `json:"divide"`
		Check           text `json:"check"`
		Answer          text `json:"answer"`
		Tip             text `json:"tip"`
	} `json:"linear"`
	Quadratic struct {
		Intro        text `json:"intro"`
		StandardForm text `json:"standardForm"`
		Discriminant text `json:"discriminant"`
		NoRoot       text `json:"noRoot"`
		DoubleRoot   text `json:"doubleRoot"`
		TwoRoots     text `json:"twoRoots"`
		Tip          text `json:"tip"`
	} `json:"quadratic"`
	// Degenerate is a linear equation whose coefficient of x is 0.
	Degenerate struct {
		Intro         text `json:"intro"`
		Identity      text `json:"identity"`
		Contradiction text `json:"contradiction"`
		Tip           text `json:"tip"`
	} `json:"degenerate"`
	Arithmetic struct {
		Result text `json:"result"`
		Method text `json:"method"`
		Hint   text `json:"hint"` // a product by mental arithmetic
		Check  text `json:"check"`
	} `json:"arithmetic"`
}

// replies is replies.json.
type replies struct {
	Greeting text `json:"greeting"` // the reply to an empty question
	// Numbers follows a topic's explanation that does not work the numbers.
	Numbers text `json:"numbers"`
	// Socratic are the replies to questions without a script; a hash of the
	// question picks one.
	Socratic []text `json:"socratic"`
	// NumbersLater follows a Socratic reply to a question with numbers.
	NumbersLater text `json:"numbersLater"`
	// NoKeywords stands for the key words of an English question that has
	// none.
	NoKeywords string `json:"noKeywords"`
}

// units is units.json: the names of units, in lower case.
type units struct {
	Mass         []string `json:"mass"`
	Gram         []string `json:"gram"`
	Acceleration []string `json:"acceleration"`
	Speed        []string `json:"speed"`
	Force        []string `json:"force"`
	Second       []string `json:"second"`
	Metre        []string `json:"metre"`
	Volt         []string `json:"volt"`
	Ampere       []string `json:"ampere"`
	Milliampere  []string `json:"milliampere"`
	Ohm          []string `json:"ohm"`
	SquareMetre  []string `json:"squareMetre"`
	// Densities are the units a density is worked in, the first that the
	// question's numbers have wins.
	Densities []struct {
		Mass   []string `json:"mass"`
		Volume []string `json:"volume"`
		Unit   string   `json:"unit"` // of the density
	} `json:"densities"`
	// Speeds are the units a speed is worked in, the first that the
	// question's numbers have wins.
	Speeds []struct {
		Distance     []string `json:"distance"`
		Time         []string `json:"time"`
		DistanceUnit string   `json:"distanceUnit"`
		TimeUnit     string   `json:"timeUnit"`
	} `json:"speeds"`
}

// mustLoadScript loads the content under dir of fsys and panics if it is
// malformed, which a test rules out for the embedded files.
func mustLoadScript(fsys fs.FS, dir string) *script {
	sub, err := fs.Sub(fsys, dir)
	if err == nil {
		var s *script
		if s, err = loadScript(sub); err == nil {
			return s
		}
	}
	panic(err)
}

// loadScript reads and checks the tutor's content from the files at the
// root of fsys.
func loadScript(fsys fs.FS) (*script, error) {
	s := new(script)
	var topics struct {
		Science []*topic `json:"science"`
		Maths   []*topic `json:"maths"`
	}
	var operators [][]string
	for _, f := range []struct {
		name string
		v    any
	}{
		{"topics.json", &topics},
		{"worked.json", &s.worked},
		{"solutions.json", &s.solutions},
		{"replies.json", &s.replies},
		{"units.json", &s.units},
		{"operators.json", &operators},
	} {
		if err := decodeFile(fsys, f.name, f.v); err != nil {
			return nil, err
		}
	}
	s.science, s.maths = topics.Science, topics.Maths
	if err := bindTopics(slices.Concat(s.science, s.maths)); err != nil {
		return nil, fmt.Errorf("companiontest: tutor data topics.json: %w", err)
	}
	var pairs []string
	for _, p := range operators {
		if len(p) != 2 {
			return nil, fmt.Errorf("companiontest: tutor data operators.json: %q is not a [word, operator] pair", p)
		}
		pairs = append(pairs, p...)
	}
	s.operators = strings.NewReplacer(pairs...)
	var err error
	if s.stopwords, err = readWords(fsys, "stopwords.txt"); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeFile decodes the JSON file name of fsys into v, rejecting unknown
// and missing fields.
func decodeFile(fsys fs.FS, name string, v any) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("companiontest: tutor data: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err = dec.Decode(v); err == nil {
		if _, err = dec.Token(); err == io.EOF {
			err = checkComplete(reflect.ValueOf(v).Elem(), "")
		} else if err == nil {
			err = errors.New("data after the top-level value")
		}
	}
	if err != nil {
		return fmt.Errorf("companiontest: tutor data %s: %w", name, err)
	}
	return nil
}

// checkComplete reports an empty string or slice in v (where a field is
// missing from the file), except in fields tagged omitempty, and a
// malformed placeholder in a text.
func checkComplete(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return fmt.Errorf("%s is null", path)
		}
		return checkComplete(v.Elem(), path)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if opts == "omitempty" && v.Field(i).IsZero() {
				continue
			}
			if err := checkComplete(v.Field(i), strings.TrimPrefix(path+"."+name, ".")); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			return fmt.Errorf("%s is missing or empty", path)
		}
		for i := range v.Len() {
			if err := checkComplete(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if v.Len() == 0 {
			return fmt.Errorf("%s is missing or empty", path)
		}
		if v.Type() == reflect.TypeFor[prose]() {
			return checkPlaceholders(v.String(), path)
		}
	}
	return nil
}

// checkPlaceholders reports a brace of s that is not part of a placeholder
// {name}, name being ASCII letters and digits.
func checkPlaceholders(s, path string) error {
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(s[i:], '}')
		if s[i] == '}' || j < 2 || strings.ContainsFunc(s[i+1:i+j], func(r rune) bool {
			return r >= 128 || !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			return fmt.Errorf("%s: malformed placeholder at %q", path, s[i:])
		}
		s = s[i+j+1:]
	}
	return nil
}

// bindTopics checks the topics and gives them their computes.
func bindTopics(topics []*topic) error {
	byName := map[string]*topic{}
	for _, t := range topics {
		if byName[t.Name] != nil {
			return fmt.Errorf("two topics are named %q", t.Name)
		}
		byName[t.Name] = t
		phrases := slices.Clone(t.Any)
		for _, group := range t.All {
			for _, set := range group {
				phrases = append(phrases, set...)
			}
		}
		for _, p := range phrases {
			if p != strings.ToLower(p) {
				return fmt.Errorf("topic %q: phrase %q is not in lower case", t.Name, p)
			}
		}
	}
	for name, compute := range computes {
		t := byName[name]
		if t == nil {
			return fmt.Errorf("no topic %q for its compute function", name)
		}
		t.compute = compute
	}
	return nil
}

// readWords reads a list of words, one per line, skipping blank lines and
// comments.
func readWords(fsys fs.FS, name string) (map[string]bool, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("companiontest: tutor data: %w", err)
	}
	words := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		w := strings.TrimSpace(line)
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		if words[w] || w != strings.ToLower(w) || strings.ContainsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			return nil, fmt.Errorf("companiontest: tutor data %s:%d: %q is a duplicate or no lower-case word", name, i+1, w)
		}
		words[w] = true
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("companiontest: tutor data %s: no words", name)
	}
	return words, nil
}
