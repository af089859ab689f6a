import { Tabs } from 'antd';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { TemplateTable } from './TemplateTable.tsx';

/** Admin: the prompt templates and parameter templates users pick from when making images. */
export function TemplatesPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('navTemplates')}</PageTitle>
      <Tabs
        items={[
          { key: 'prompts', label: t('acPromptTemplates'), children: <TemplateTable kind="prompts" /> },
          { key: 'params', label: t('acParamTemplates'), children: <TemplateTable kind="params" /> },
        ]}
      />
    </>
  );
}
