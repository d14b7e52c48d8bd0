package companiontest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Tool calls. A request with tools gets a tool call instead of the tutor's
// reply when its tool_choice asks for one: "required" calls the first
// tool, {"type": "function", "function": {"name": N}} calls N, and "auto"
// (the default when tools are given) calls the first tool whose function
// name appears in the last user message; "none" never calls. The call's
// arguments are {"question": the last user message}; the finish reason is
// "tool_calls" and the content null, as the API sends them. Tool
// definitions are not counted in the prompt tokens (the API counts them).

// chatTool is an element of the request's tools.
type chatTool struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// toolCall is the call the fake makes.
type toolCall struct {
	ID, Name, Arguments string
}

// chooseTool works out the tool call a request asks for, if any.
func chooseTool(tools []chatTool, choice json.RawMessage, question string) (*toolCall, *requestError) {
	if len(tools) == 0 {
		return nil, nil
	}
	for i, t := range tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, invalidParam(fmt.Sprintf("tools[%d]", i), "invalid_value", "Each tool must be of type 'function' with a function name.")
		}
	}
	name := ""
	var mode string
	var named struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	switch {
	case len(choice) == 0 || string(choice) == "null":
		mode = "auto"
	case json.Unmarshal(choice, &mode) == nil:
	case json.Unmarshal(choice, &named) == nil && named.Function.Name != "":
		mode, name = "named", named.Function.Name
	default:
		return nil, invalidParam("tool_choice", "invalid_value", "Invalid value for 'tool_choice'.")
	}
	switch mode {
	case "none":
		return nil, nil
	case "required":
		name = tools[0].Function.Name
	case "auto":
		low := strings.ToLower(question)
		for _, t := range tools {
			if strings.Contains(low, strings.ToLower(t.Function.Name)) {
				name = t.Function.Name
				break
			}
		}
		if name == "" {
			return nil, nil
		}
	case "named":
		found := false
		for _, t := range tools {
			found = found || t.Function.Name == name
		}
		if !found {
			return nil, invalidParam("tool_choice", "invalid_value", fmt.Sprintf("Tool choice '%s' not found in 'tools' parameter.", name))
		}
	default:
		return nil, invalidParam("tool_choice", "invalid_value",
			fmt.Sprintf("Invalid value: '%s'. Supported values are: 'none', 'auto', and 'required'.", mode))
	}
	args, _ := json.Marshal(map[string]string{"question": question}) // a map of strings: cannot fail
	return &toolCall{Name: name, Arguments: string(args)}, nil
}

// wireToolCall is a tool call as the API writes it in a message.
type wireToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// message is the call in a completion's message.
func (c *toolCall) message() []wireToolCall {
	w := wireToolCall{ID: c.ID, Type: "function"}
	w.Function.Name, w.Function.Arguments = c.Name, c.Arguments
	return []wireToolCall{w}
}

// deltas is the call as stream deltas: the id, type and name first, then
// the arguments in pieces.
func (c *toolCall) deltas() [][]wireToolCall {
	zero := 0
	first := wireToolCall{Index: &zero, ID: c.ID, Type: "function"}
	first.Function.Name = c.Name
	out := [][]wireToolCall{{first}}
	for _, piece := range splitStream(c.Arguments) {
		d := wireToolCall{Index: &zero}
		d.Function.Arguments = piece
		out = append(out, []wireToolCall{d})
	}
	return out
}
