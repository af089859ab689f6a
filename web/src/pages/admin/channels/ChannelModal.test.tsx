import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from 'antd';
import { describe, expect, it, vi } from 'vitest';
import type { Channel } from '@/api/admin-catalog.ts';
import { I18nProvider } from '@/i18n/index.tsx';
import { channelBody, ChannelModal, parseModelMap } from './ChannelModal.tsx';

const DIFY: Channel = {
  id: 'ch-1',
  name: 'Support bot',
  kind: 'dify',
  baseUrl: 'https://dify.example.com/v1',
  apiKeyPreview: 'app-…abcd',
  models: [],
  modelMap: {},
  priority: 0,
  weight: 1,
  enabled: true,
  autoDisabled: false,
  consecutiveFailures: 0,
  lastError: null,
  appMode: 'workflow',
  prices: { input: 1, output: 2, endpoints: { 'workflows/run': 5 }, maxCallCost: 300 },
  createdAt: '2026-12-07T10:00:00.000Z',
  updatedAt: '2026-12-07T10:00:00.000Z',
};

const show = (channel: Channel | 'new') =>
  render(
    <I18nProvider lang="en">
      <App>
        <ChannelModal channel={channel} onClose={vi.fn()} onSaved={vi.fn()} />
      </App>
    </I18nProvider>,
  );

describe('ChannelModal', () => {
  it('asks for models on an OpenAI-compatible channel and for the mode and prices on a Dify app', async () => {
    show('new');
    expect(screen.getByLabelText('Models')).toBeTruthy();
    expect(screen.queryByLabelText('App mode')).toBeNull();
    await userEvent.click(screen.getByLabelText('Dify app'));
    expect(screen.getByLabelText('App mode')).toBeTruthy();
    expect(screen.getByLabelText('Max call cost')).toBeTruthy();
    expect(screen.getByLabelText('workflows/run')).toBeTruthy();
    expect(screen.queryByLabelText('Models')).toBeNull();
  });

  it("edits a Dify app with its prices; the key is never shown, the kind can't change", () => {
    show(DIFY);
    expect(screen.getByLabelText<HTMLInputElement>('App key').value).toBe('');
    expect(screen.getByText('Leave empty to keep the stored key (it is never shown).')).toBeTruthy();
    expect(screen.getByLabelText<HTMLInputElement>('Max call cost').value).toBe('300');
    expect(screen.getByLabelText<HTMLInputElement>('workflows/run').value).toBe('5');
    expect(screen.getByLabelText<HTMLInputElement>('OpenAI-compatible').disabled).toBe(true);
  });
});

describe('channelBody', () => {
  const fields = {
    kind: 'openai' as const,
    name: ' a ',
    baseUrl: 'http://x/v1',
    weight: 2,
    priority: 1,
    enabled: true,
  };

  it('sends the key only when one was typed, and the renames as a map', () => {
    expect(channelBody({ ...fields, apiKey: '  ', models: ['m'], modelMap: 'a=b\n\n c = d ' }, false)).toEqual({
      name: 'a',
      baseUrl: 'http://x/v1',
      weight: 2,
      priority: 1,
      enabled: true,
      models: ['m'],
      modelMap: { a: 'b', c: 'd' },
    });
    expect(channelBody({ ...fields, apiKey: 'sk-1', models: ['m'] }, true)).toMatchObject({
      apiKey: 'sk-1',
      kind: 'openai',
    });
  });

  it('sends a Dify app its mode and only the prices that were filled in', () => {
    const body = channelBody(
      {
        ...fields,
        kind: 'dify',
        appMode: 'chat',
        input: 0,
        output: null,
        endpoints: { suggested: 1, 'files/upload': null },
      },
      true,
    );
    expect(body).toMatchObject({ kind: 'dify', appMode: 'chat', prices: { input: 0, endpoints: { suggested: 1 } } });
    expect(body.prices).not.toHaveProperty('output');
    expect(body).not.toHaveProperty('models');
  });

  it('refuses a rename line that is not name=name', () => {
    expect(parseModelMap('a=b=c')).toBeNull();
    expect(parseModelMap('justone')).toBeNull();
    expect(parseModelMap('')).toEqual({});
  });
});
