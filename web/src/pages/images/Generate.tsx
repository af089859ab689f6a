import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Card, Col, Form, Input, InputNumber, Row, Select, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { api } from '@/api/client.ts';
import { imagesApi, type Job } from '@/api/images.ts';
import type { Balance } from '@/api/types.ts';
import { FavoriteButton } from '@/components/images/FavoriteButton.tsx';
import { useFavoriteIds } from '@/components/images/favorite-ids.ts';
import { JobFollower } from '@/components/images/JobFollower.tsx';
import { PriceLine } from '@/components/images/PriceLine.tsx';
import { PublishAction } from '@/components/images/PublishAction.tsx';
import { SubmitError } from '@/components/images/SubmitError.tsx';
import { number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { generateBody, type GenerateForm } from './generate-body.ts';

const MODES = ['fast', 'standard', 'hd'];
const RESOLUTIONS = ['512x512', '1024x1024', '768x1024', '1024x768', '1080x1920', '1920x1080', '2048x2048'];
const DEFAULTS: Partial<GenerateForm> = { mode: 'standard', resolution: '1024x1024', count: 1 };
const unique = (values: string[]) => [...new Set(values)].map((value) => ({ value, label: value }));

/** Generate images: a prompt (or a prompt template), settings (or a parameter template), a character; then follow the job. */
export function GeneratePage() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<GenerateForm>();
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<Error>();
  const jobCard = useRef<HTMLDivElement>(null);
  // A new job is shown where the eye goes next (below the form on a phone).
  useEffect(() => {
    if (job) jobCard.current?.scrollIntoView({ block: 'nearest' });
  }, [job]);
  const [busy, setBusy] = useState(false);
  const [promptTemplateId, mode, resolution, count] = [
    Form.useWatch('promptTemplateId', form),
    Form.useWatch('mode', form),
    Form.useWatch('resolution', form),
    Form.useWatch('count', form),
  ];
  const prompts = useQuery({ queryKey: ['prompt-templates'], queryFn: imagesApi.promptTemplates });
  const promptFavorites = useFavoriteIds('prompt');
  const chosenPrompt = prompts.data?.find((p) => p.id === promptTemplateId);
  const params = useQuery({ queryKey: ['param-templates'], queryFn: imagesApi.paramTemplates });
  const characters = useQuery({ queryKey: ['characters'], queryFn: imagesApi.characters });
  const balance = useQuery({ queryKey: ['balance'], queryFn: () => api<Balance>('/api/credits/balance') });

  const pickPrompt = useCallback(
    (id: string | undefined) => {
      const template = prompts.data?.find((p) => p.id === id);
      if (template) form.setFieldsValue({ prompt: template.prompt, negativePrompt: template.negativePrompt ?? '' });
    },
    [form, prompts.data],
  );
  // From a favorite ("Use this prompt"): /dashboard/images?promptTemplate=<id>
  const [search] = useSearchParams();
  const linked = search.get('promptTemplate');
  useEffect(() => {
    if (!linked || !prompts.data?.some((p) => p.id === linked)) return;
    form.setFieldsValue({ promptTemplateId: linked });
    pickPrompt(linked);
  }, [linked, prompts.data, form, pickPrompt]);
  const pickParams = (id: string | undefined) => {
    const template = params.data?.find((p) => p.id === id);
    if (template) form.setFieldsValue({ mode: template.mode, resolution: template.resolution, count: template.count });
  };

  const submit = async (values: GenerateForm) => {
    setBusy(true);
    setError(undefined);
    try {
      const template = prompts.data?.find((p) => p.id === values.promptTemplateId);
      setJob(await imagesApi.generate(generateBody(values, template)));
      void queryClient.invalidateQueries({ queryKey: ['balance'] });
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };
  const settled = () => {
    void queryClient.invalidateQueries({ queryKey: ['balance'] });
    void queryClient.invalidateQueries({ queryKey: ['jobs'] });
  };

  return (
    <>
      <PageTitle
        extra={
          balance.data && (
            <Typography.Text>{t('imgAvailable', { credits: number(balance.data.available) })}</Typography.Text>
          )
        }
      >
        {t('imgGenerate')}
      </PageTitle>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={10}>
          <Card>
            <Form<GenerateForm>
              form={form}
              layout="vertical"
              initialValues={DEFAULTS}
              onFinish={(values) => void submit(values)}
            >
              <Form.Item
                name="promptTemplateId"
                label={t('imgPromptTemplate')}
                extra={
                  chosenPrompt && (
                    <FavoriteButton
                      type="prompt"
                      targetId={chosenPrompt.id}
                      favoriteId={promptFavorites.data?.get(chosenPrompt.id) ?? null}
                      label={chosenPrompt.title}
                    />
                  )
                }
              >
                <Select
                  allowClear
                  showSearch={{ optionFilterProp: 'label' }}
                  placeholder={t('imgNoTemplate')}
                  loading={prompts.isPending}
                  onChange={pickPrompt}
                  options={prompts.data?.map((p) => ({ value: p.id, label: p.title }))}
                />
              </Form.Item>
              <Form.Item
                name="prompt"
                label={t('imgPrompt')}
                rules={[{ required: true, whitespace: true, max: 4000, message: t('imgPromptRule') }]}
              >
                <Input.TextArea autoSize={{ minRows: 3, maxRows: 8 }} maxLength={4000} />
              </Form.Item>
              <Form.Item name="negativePrompt" label={t('imgNegativePrompt')} rules={[{ max: 4000 }]}>
                <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} maxLength={4000} />
              </Form.Item>
              <Form.Item name="paramTemplateId" label={t('imgParamTemplate')}>
                <Select
                  allowClear
                  placeholder={t('imgNoTemplate')}
                  loading={params.isPending}
                  onChange={pickParams}
                  options={params.data?.map((p) => ({ value: p.id, label: `${p.name} (${p.resolution})` }))}
                />
              </Form.Item>
              <Row gutter={8}>
                <Col xs={12} sm={8}>
                  <Form.Item name="mode" label={t('imgMode')} rules={[{ required: true }]}>
                    <Select options={unique([...MODES, ...(params.data?.map((p) => p.mode) ?? [])])} />
                  </Form.Item>
                </Col>
                <Col xs={12} sm={10}>
                  <Form.Item name="resolution" label={t('imgResolution')} rules={[{ required: true }]}>
                    <Select options={unique([...RESOLUTIONS, ...(params.data?.map((p) => p.resolution) ?? [])])} />
                  </Form.Item>
                </Col>
                <Col xs={12} sm={6}>
                  <Form.Item name="count" label={t('imgCount')} rules={[{ required: true }]}>
                    <InputNumber min={1} max={10} precision={0} style={{ width: '100%' }} />
                  </Form.Item>
                </Col>
              </Row>
              <Form.Item name="characterId" label={t('imgCharacterOptional')} extra={t('imgCharacterHelp')}>
                <Select
                  allowClear
                  placeholder={t('imgNoCharacter')}
                  loading={characters.isPending}
                  options={characters.data?.map((c) => ({
                    value: c.id,
                    label: `${c.name} (${t('imgPhotoCount', { n: c.photoCount })})`,
                  }))}
                />
              </Form.Item>
              <PriceLine mode={mode} resolution={resolution} count={count} />
              <Typography.Paragraph type="secondary">{t('imgPriceNote')}</Typography.Paragraph>
              {error && <SubmitError error={error} />}
              <Button type="primary" htmlType="submit" loading={busy} block>
                {t('imgSubmit')}
              </Button>
            </Form>
          </Card>
        </Col>
        <Col xs={24} lg={14}>
          <div ref={jobCard} />
          {job ? (
            <JobFollower
              job={job}
              fetchJob={imagesApi.job}
              cancelJob={imagesApi.cancelJob}
              onSettled={settled}
              imageActions={(image, current) => (
                <PublishAction image={image} prompt={current.prompt} index={current.images.indexOf(image)} />
              )}
            />
          ) : (
            <Card>
              <Typography.Text type="secondary">{t('imgNoJobYet')}</Typography.Text>
            </Card>
          )}
        </Col>
      </Row>
    </>
  );
}
