// The official openai npm package as a client of companiontest, directly
// or through the openaigo adapter. npm_test.go runs it with
// OPENAI_BASE_URL set and the steps to run as arguments, and checks what
// it prints: one JSON object with a member per step, each the step's
// result or {"error": {...}} with what the SDK reported.
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL,
  apiKey: process.env.OPENAI_API_KEY || 'test',
  maxRetries: 0,
  timeout: 30_000,
});
const model = 'gpt-4o-mini';

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    strict: true,
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};

const steps = {
  async chat() {
    const { data, response, request_id } = await client.chat.completions
      .create({
        model,
        messages: [
          { role: 'system', content: 'You are a patient maths tutor.' },
          { role: 'user', content: 'solve 2x+3=7' },
        ],
      })
      .withResponse();
    return {
      id: data.id,
      object: data.object,
      model: data.model,
      created: data.created,
      content: data.choices[0].message.content,
      role: data.choices[0].message.role,
      finish_reason: data.choices[0].finish_reason,
      usage: data.usage,
      request_id,
      content_type: response.headers.get('content-type'),
    };
  },

  async stream() {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: "What is Newton's third law?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let finish_reason = null;
    let usage = null;
    let chunks = 0;
    let roles = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.object !== 'chat.completion.chunk') throw new Error(`chunk object ${chunk.object}`);
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (c.delta.role) roles++;
        content += c.delta.content ?? '';
        if (c.finish_reason) finish_reason = c.finish_reason;
      }
    }
    // The helper that accumulates chunks into a completion, as apps use it.
    const runner = client.chat.completions.stream({
      model,
      messages: [{ role: 'user', content: "What is Newton's third law?" }],
    });
    const final = await runner.finalChatCompletion();
    return {
      content,
      finish_reason,
      usage,
      chunks,
      roles,
      final_content: final.choices[0].message.content,
      final_finish_reason: final.choices[0].finish_reason,
    };
  },

  // A request with a tool and a history with a tool call; companiontest
  // answers tool_choice "required" with a call of the first tool.
  async tools() {
    const request = {
      model,
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        {
          role: 'assistant',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temperature_c":18}' },
        { role: 'user', content: 'And in Rome?' },
      ],
      tools: [weatherTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
    };
    const data = await client.chat.completions.create(request);
    // The stream helper accumulates the tool-call deltas.
    const final = await client.chat.completions.stream(request).finalChatCompletion();
    return {
      finish_reason: data.choices[0].finish_reason,
      tool_calls: data.choices[0].message.tool_calls ?? [],
      stream_finish_reason: final.choices[0].finish_reason,
      stream_tool_calls: final.choices[0].message.tool_calls ?? [],
    };
  },

  async embeddings() {
    // No encoding_format: the SDK asks for base64 and decodes it.
    const data = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ["What is Newton's second law?", 'How does photosynthesis work?'],
      dimensions: 64,
    });
    return {
      model: data.model,
      embeddings: data.data.map((d) => Array.from(d.embedding)),
      usage: data.usage,
    };
  },

  // An error response: n > 1, which companiontest refuses with a 400.
  async invalid() {
    await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], n: 3 });
    return { unexpected: 'no error' };
  },

  // An error response for whatever fault the test set.
  async fault() {
    await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
    return { unexpected: 'no error' };
  },
};

const out = {};
for (const name of process.argv.slice(2)) {
  const step = steps[name];
  if (!step) throw new Error(`unknown step ${name}`);
  try {
    out[name] = await step();
  } catch (err) {
    out[name] = {
      error: {
        class: err.constructor.name,
        api_error: err instanceof OpenAI.APIError,
        status: err.status ?? null,
        request_id: err.requestID ?? null,
        type: err.type ?? null,
        code: err.code ?? null,
        param: err.param ?? null,
        message: err.message,
        retry_after: err.headers?.get?.('retry-after') ?? null,
      },
    };
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
