package openaigo

import (
	"encoding/json"

	openai "github.com/sashabaranov/go-openai"
)

// go-openai's response types write an Azure content_filter_results object
// of zeros into every choice (omitempty does nothing on a struct); the
// wire types below write the API's JSON, without it when it is empty.

// wireResponse is a chat completion as the API writes it.
type wireResponse struct {
	openai.ChatCompletionResponse
	Choices []wireChoice `json:"choices"`
}

type wireChoice struct {
	openai.ChatCompletionChoice
	ContentFilterResults *openai.ContentFilterResults `json:"content_filter_results,omitempty"`
}

// wireChunk is a chat completion chunk as the API writes it.
type wireChunk struct {
	openai.ChatCompletionStreamResponse
	Choices []wireStreamChoice `json:"choices"`
}

type wireStreamChoice struct {
	openai.ChatCompletionStreamChoice
	ContentFilterResults *openai.ContentFilterResults `json:"content_filter_results,omitempty"`
}

// filterResults is r, or nil when it is empty.
func filterResults(r openai.ContentFilterResults) *openai.ContentFilterResults {
	if r == (openai.ContentFilterResults{}) {
		return nil
	}
	return &r
}

// encodeResponse writes a chat completion's JSON.
func encodeResponse(resp openai.ChatCompletionResponse) ([]byte, error) {
	w := wireResponse{ChatCompletionResponse: resp, Choices: make([]wireChoice, len(resp.Choices))}
	for i, c := range resp.Choices {
		w.Choices[i] = wireChoice{ChatCompletionChoice: c, ContentFilterResults: filterResults(c.ContentFilterResults)}
	}
	return json.Marshal(w)
}

// encodeChunk writes a chat completion chunk's JSON; a chunk without
// choices (the usage chunk) has "choices": [].
func encodeChunk(chunk openai.ChatCompletionStreamResponse) ([]byte, error) {
	w := wireChunk{ChatCompletionStreamResponse: chunk, Choices: make([]wireStreamChoice, len(chunk.Choices))}
	for i, c := range chunk.Choices {
		w.Choices[i] = wireStreamChoice{ChatCompletionStreamChoice: c, ContentFilterResults: filterResults(c.ContentFilterResults)}
	}
	return json.Marshal(w)
}
