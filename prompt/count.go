package prompt

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

func init() {
	// The encodings ship inside the binary; nothing is downloaded at run time.
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
}

// Encoding names understood by [NewCounter].
const (
	O200kBase  = "o200k_base"  // gpt-4o, gpt-4.1, gpt-5 and the o-series
	Cl100kBase = "cl100k_base" // gpt-4, gpt-3.5-turbo and the text-embedding-3 models
)

// ErrUnknownEncoding is returned by [NewCounter] for an encoding it does not know.
var ErrUnknownEncoding = errors.New("prompt: unknown encoding")

// Message is one chat message as the API bills it.
type Message struct {
	Role    string
	Content string
	Name    string
}

// Counter counts tokens the way the OpenAI API bills them. It is safe for
// concurrent use.
type Counter struct {
	encoding string
	tk       *tiktoken.Tiktoken
}

var (
	countersMu sync.Mutex
	counters   = map[string]*Counter{}
)

// EncodingForModel returns the encoding name a model uses: o200k_base for
// gpt-4o, gpt-4.1, gpt-5, the o-series and unknown models, cl100k_base for
// gpt-4, gpt-3.5 and the embedding models of that generation.
func EncodingForModel(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:] // "openai/gpt-4o" as some proxies name it
	}
	switch {
	case strings.HasPrefix(m, "gpt-4o"), strings.HasPrefix(m, "gpt-4.1"),
		strings.HasPrefix(m, "gpt-4.5"), strings.HasPrefix(m, "gpt-5"),
		strings.HasPrefix(m, "o1"), strings.HasPrefix(m, "o3"), strings.HasPrefix(m, "o4"),
		strings.HasPrefix(m, "chatgpt-4o"):
		return O200kBase
	case strings.HasPrefix(m, "gpt-4"), strings.HasPrefix(m, "gpt-3.5"), strings.HasPrefix(m, "gpt-35"),
		strings.HasPrefix(m, "text-embedding-3"), strings.HasPrefix(m, "text-embedding-ada-002"):
		return Cl100kBase
	}
	return O200kBase
}

// NewCounter returns the counter for an encoding ([O200kBase] or
// [Cl100kBase]). Counters are shared: the first call for an encoding loads
// its ranks (a few hundred milliseconds), later calls return the same one.
func NewCounter(encoding string) (*Counter, error) {
	if encoding != O200kBase && encoding != Cl100kBase {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEncoding, encoding)
	}
	countersMu.Lock()
	defer countersMu.Unlock()
	if c, ok := counters[encoding]; ok {
		return c, nil
	}
	tk, err := tiktoken.GetEncoding(encoding)
	if err != nil {
		return nil, fmt.Errorf("prompt: load %s: %w", encoding, err)
	}
	c := &Counter{encoding: encoding, tk: tk}
	counters[encoding] = c
	return c, nil
}

// CounterForModel returns the counter for the encoding a model uses.
func CounterForModel(model string) (*Counter, error) {
	return NewCounter(EncodingForModel(model))
}

// Encoding returns the encoding's name.
func (c *Counter) Encoding() string { return c.encoding }

// Count returns the number of tokens in text. Special-token strings such as
// "<|endoftext|>" are counted as ordinary text, as the API does for user
// content.
func (c *Counter) Count(text string) int {
	if text == "" {
		return 0
	}
	return len(c.tk.EncodeOrdinary(text))
}

// Per-message overheads of the chat format: every message costs its content
// plus 3 tokens (4 with a name), and the reply is primed with 3 more.
const (
	tokensPerMessage = 3
	tokensPerName    = 1
	tokensPerReply   = 3
)

// CountMessages returns the prompt tokens the API bills for a chat request
// made of msgs.
func (c *Counter) CountMessages(msgs []Message) int {
	n := tokensPerReply
	for _, m := range msgs {
		n += tokensPerMessage + c.Count(m.Role) + c.Count(m.Content)
		if m.Name != "" {
			n += tokensPerName + c.Count(m.Name)
		}
	}
	return n
}
