import { theme } from 'antd';

/**
 * An answer's text: line breaks kept, and the parts inside ``` fences in a monospace block (a fence
 * still open while the answer streams counts as code). No markdown beyond that.
 */
export function MessageText({ text }: { text: string }) {
  const { token } = theme.useToken();
  const parts = text.split(/```[^\n]*\n?/);
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          <pre
            key={i}
            tabIndex={0}
            style={{
              fontFamily: token.fontFamilyCode,
              background: token.colorBgContainer,
              border: `1px solid ${token.colorBorderSecondary}`,
              borderRadius: token.borderRadiusSM,
              padding: 8,
              margin: '6px 0',
              overflowX: 'auto',
              whiteSpace: 'pre',
            }}
          >
            <code>{part.replace(/\n$/, '')}</code>
          </pre>
        ) : part ? (
          <span key={i} style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
            {part}
          </span>
        ) : null,
      )}
    </>
  );
}
