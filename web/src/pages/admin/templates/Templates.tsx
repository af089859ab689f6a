import { Segmented } from 'antd';
import { useState } from 'react';
import type { TemplateKind } from '@/api/admin-catalog.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { TemplateTable } from './TemplateTable.tsx';

/** Admin: the prompt templates and parameter templates users pick from when making images. */
export function TemplatesPage() {
  const { t } = useI18n();
  const [kind, setKind] = useState<TemplateKind>('prompts');
  return (
    <>
      <PageTitle>{t('navTemplates')}</PageTitle>
      {/* A segmented switch rather than tabs: its selected item stays readable in both themes. */}
      <Segmented<TemplateKind>
        aria-label={t('navTemplates')}
        value={kind}
        onChange={setKind}
        style={{ marginBottom: 12 }}
        options={[
          { value: 'prompts', label: t('acPromptTemplates') },
          { value: 'params', label: t('acParamTemplates') },
        ]}
      />
      <TemplateTable key={kind} kind={kind} />
    </>
  );
}
