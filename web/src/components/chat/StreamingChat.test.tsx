import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { streamPlayground, type PlaygroundBill } from '@/api/chat.ts';
import { I18nProvider } from '@/i18n/index.tsx';
import { ChatPanel } from './ChatPanel.tsx';
import { useChatStream } from './useChatStream.ts';

/** The playground's chat as the page wires it: the widget, the SSE reader and the playground's events. */
function Harness() {
  const chat = useChatStream<{ bill?: PlaygroundBill }>();
  return (
    <ChatPanel
      label="Conversation"
      messages={chat.messages}
      streaming={chat.streaming}
      onStop={chat.stop}
      onSend={(text) =>
        void chat.send(text, (turn) =>
          streamPlayground(
            { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], temperature: 1 },
            { signal: turn.signal, onText: turn.append, onError: turn.fail, onBill: (bill) => turn.meta({ bill }) },
          ),
        )
      }
      footer={(m) => (m.meta?.bill ? <span>Cost: {m.meta.bill.credits} credits</span> : null)}
    />
  );
}

/** A server whose answer body is written by the test, chunk by chunk; aborting the request errors the body. */
function streamingServer() {
  let body!: ReadableStreamDefaultController<Uint8Array>;
  let request: { url: string; init: RequestInit } | undefined;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (body = c) });
  const fetchMock = vi.fn((url: string, init: RequestInit) => {
    request = { url, init };
    init.signal?.addEventListener('abort', () => body.error(new DOMException('aborted', 'AbortError')));
    return Promise.resolve(new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } }));
  });
  vi.stubGlobal('fetch', fetchMock);
  const bytes = new TextEncoder();
  return {
    send: (chunk: string | Uint8Array) => body.enqueue(typeof chunk === 'string' ? bytes.encode(chunk) : chunk),
    end: () => body.close(),
    get request() {
      return request;
    },
  };
}

const delta = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;

async function ask(question: string) {
  render(
    <MemoryRouter>
      <I18nProvider lang="en">
        <Harness />
      </I18nProvider>
    </MemoryRouter>,
  );
  await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), `${question}{Enter}`);
}

afterEach(() => vi.unstubAllGlobals());

describe('the streaming chat', () => {
  it('shows the answer as it streams, from events split inside an event and inside a character, then its cost', async () => {
    const server = streamingServer();
    await ask('Hi');
    await waitFor(() => expect(server.request).toBeDefined());
    expect(server.request!.url).toBe('/api/playground/chat/completions');
    expect(new Headers(server.request!.init.headers).get('x-requested-with')).toBeTruthy();
    expect(JSON.parse(server.request!.init.body as string)).toMatchObject({ stream: true, model: 'gpt-4o-mini' });
    expect(screen.getByText('Hi')).toBeTruthy();

    const first = delta('Hello');
    server.send(first.slice(0, 20)); // inside the event: nothing to show yet
    server.send(first.slice(20));
    expect(await screen.findByText('Hello')).toBeTruthy();

    // "世" is three bytes in UTF-8: the chunk ends after its first byte.
    const second = new TextEncoder().encode(delta(' 世界'));
    const cut = second.indexOf(0xe4) + 1;
    server.send(second.slice(0, cut));
    server.send(second.slice(cut));
    expect(await screen.findByText('Hello 世界')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Stop' })).toBeTruthy();

    const bill = { request_id: 'r1', prompt_tokens: 5, completion_tokens: 3, credits: 2, usage_source: 'upstream' };
    server.send(`data: [DONE]\n\nevent: tollgate.bill\ndata: ${JSON.stringify(bill)}\n\n`);
    server.end();
    expect(await screen.findByText('Cost: 2 credits')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Send' })).toBeTruthy();
    expect(screen.queryByText('Stopped')).toBeNull();
  });

  it('Stop aborts the request: the text so far stays, marked stopped', async () => {
    const server = streamingServer();
    await ask('Tell me a story');
    await waitFor(() => expect(server.request).toBeDefined());
    server.send(delta('Once upon'));
    expect(await screen.findByText('Once upon')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(server.request!.init.signal!.aborted).toBe(true);
    expect(await screen.findByText('Stopped')).toBeTruthy();
    expect(screen.getByText('Once upon')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Send' })).toBeTruthy();
  });

  it('an error event in the stream is shown in place, after what arrived', async () => {
    const server = streamingServer();
    await ask('Hi');
    await waitFor(() => expect(server.request).toBeDefined());
    server.send(delta('Partial'));
    server.send(`data: ${JSON.stringify({ error: { message: 'The upstream broke off', type: 'server_error' } })}\n\n`);
    server.end();
    expect(await screen.findByText('The upstream broke off')).toBeTruthy();
    expect(screen.getByText('Partial')).toBeTruthy();
  });

  it('a 402 says the credits do not cover the call and links to credits and plans', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(() =>
        Promise.resolve(
          new Response(
            JSON.stringify({
              success: false,
              statusCode: 402,
              code: 'INSUFFICIENT_CREDITS',
              message: 'Not enough credits',
            }),
            {
              status: 402,
              headers: { 'content-type': 'application/json' },
            },
          ),
        ),
      ),
    );
    await ask('Hi');
    expect(await screen.findByText('Not enough credits')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Get credits' }).getAttribute('href')).toBe('/dashboard/credits');
    expect(screen.getByRole('link', { name: 'See plans' }).getAttribute('href')).toBe('/dashboard/plans');
  });

  it('Shift+Enter writes a new line; Enter sends the whole message', async () => {
    const server = streamingServer();
    render(
      <MemoryRouter>
        <I18nProvider lang="en">
          <Harness />
        </I18nProvider>
      </MemoryRouter>,
    );
    const box = screen.getByRole('textbox', { name: 'Message' });
    await userEvent.type(box, 'line one{Shift>}{Enter}{/Shift}line two');
    expect(server.request).toBeUndefined();
    await userEvent.type(box, '{Enter}');
    await waitFor(() => expect(server.request).toBeDefined());
    const sent = JSON.parse(server.request!.init.body as string) as { messages: Array<{ content: string }> };
    expect(sent.messages[0]!.content).toBe('line one\nline two');
  });
});
