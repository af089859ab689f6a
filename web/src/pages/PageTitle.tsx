import { Flex, Typography } from 'antd';
import type { ReactNode } from 'react';

export function PageTitle({ children, extra }: { children: ReactNode; extra?: ReactNode }) {
  return (
    <Flex justify="space-between" align="center" wrap gap={8} style={{ marginBottom: 16 }}>
      <Typography.Title level={1} style={{ margin: 0, fontSize: 22 }}>
        {children}
      </Typography.Title>
      {extra}
    </Flex>
  );
}
