import { Card, Col, Image, Row, Typography } from 'antd';
import type { ReactNode } from 'react';
import type { JobImage } from '@/api/images.ts';
import { useI18n } from '@/i18n/index.tsx';

/** A job's images, large enough to see (two to a row on a phone, four on a wide screen); each opens full size. */
export function ResultGrid({ images, actions }: { images: JobImage[]; actions?: (image: JobImage) => ReactNode }) {
  const { t } = useI18n();
  return (
    <Row gutter={[12, 12]}>
      {images.map((image, index) => {
        const alt = t('imgResultAlt', { n: index + 1 });
        return (
          <Col key={image.id} xs={12} md={8} xl={6}>
            <Card size="small" styles={{ body: { padding: 8 } }}>
              <Image
                src={image.url}
                alt={alt}
                width="100%"
                style={{ aspectRatio: `${image.width} / ${image.height}` }}
              />
              <Typography.Link
                href={image.url}
                target="_blank"
                rel="noreferrer"
                aria-label={`${t('imgOpenFull')}: ${alt}`}
                style={{ display: 'block', marginTop: 4 }}
              >
                {t('imgOpenFull')}
              </Typography.Link>
              {actions?.(image)}
            </Card>
          </Col>
        );
      })}
    </Row>
  );
}
