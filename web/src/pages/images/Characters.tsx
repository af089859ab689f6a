import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Empty, Popconfirm, Row, Space, Typography } from 'antd';
import { useState } from 'react';
import { imagesApi, type Character } from '@/api/images.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { CharacterModal } from './CharacterModal.tsx';
import { CharacterPhotos } from './CharacterPhotos.tsx';

/** My characters (saved faces sent as reference photos): create, edit, delete, and their photos. */
export function CharactersPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<Character | 'new'>();
  const characters = useQuery({ queryKey: ['characters'], queryFn: imagesApi.characters });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['characters'] });
  const remove = useMutation({
    mutationFn: imagesApi.deleteCharacter,
    onSuccess: refresh,
    onError: (error) => void message.error(error.message),
  });

  return (
    <>
      <PageTitle
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
            {t('imgNewCharacter')}
          </Button>
        }
      >
        {t('imgCharacters')}
      </PageTitle>
      <Typography.Paragraph type="secondary">{t('imgCharactersIntro')}</Typography.Paragraph>
      {characters.data?.length === 0 && <Empty description={t('imgNoCharacters')} />}
      <Row gutter={[16, 16]}>
        {characters.data?.map((character) => (
          <Col key={character.id} xs={24} md={12} xl={8}>
            <Card
              title={<h2 style={{ fontSize: 16, margin: 0 }}>{character.name}</h2>}
              extra={
                <Space>
                  <Button
                    size="small"
                    onClick={() => setEditing(character)}
                    aria-label={`${t('imgEdit')}: ${character.name}`}
                  >
                    {t('imgEdit')}
                  </Button>
                  <Popconfirm
                    title={t('imgDeleteCharacterConfirm')}
                    okText={t('delete')}
                    cancelText={t('cancel')}
                    onConfirm={() => remove.mutate(character.id)}
                  >
                    <Button size="small" danger aria-label={`${t('delete')}: ${character.name}`}>
                      {t('delete')}
                    </Button>
                  </Popconfirm>
                </Space>
              }
            >
              {character.description && <Typography.Paragraph>{character.description}</Typography.Paragraph>}
              <CharacterPhotos character={character} onChanged={refresh} />
            </Card>
          </Col>
        ))}
      </Row>
      <CharacterModal
        character={editing}
        onClose={() => setEditing(undefined)}
        onSaved={() => {
          setEditing(undefined);
          refresh();
        }}
      />
    </>
  );
}
