import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiError } from '@/api/client.ts';
import { I18nProvider } from '@/i18n/index.tsx';
import { SubmitError } from './SubmitError.tsx';

const show = (error: Error) =>
  render(
    <I18nProvider lang="en">
      <SubmitError error={error} />
    </I18nProvider>,
  );

describe('SubmitError', () => {
  it('503 IMAGE_JOBS_NOT_CONFIGURED says image generation is not set up, with the server message', () => {
    show(new ApiError(503, 'Image generation is not configured', 'IMAGE_JOBS_NOT_CONFIGURED'));
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Image generation is not set up on this server.');
    expect(alert.textContent).toContain('Image generation is not configured');
  });

  it('402 says there are not enough credits, with the server message', () => {
    show(new ApiError(402, 'Insufficient credits: 100 needed, 40 available', 'INSUFFICIENT_CREDITS'));
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Not enough credits for this job.');
    expect(alert.textContent).toContain('100 needed, 40 available');
  });

  it('any other refusal shows the server message', () => {
    show(new ApiError(404, 'Character not found', 'CHARACTER_NOT_FOUND'));
    expect(screen.getByRole('alert').textContent).toContain('Character not found');
  });
});
