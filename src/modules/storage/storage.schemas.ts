import { Type } from 'typebox';

export const UploadSchema = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'Where the image is fetched' }),
  key: Type.String({ description: 'Its object key in storage' }),
  contentType: Type.String({
    description: 'From the bytes, not the name: image/png, image/jpeg, image/webp, image/gif',
  }),
  size: Type.Integer({ description: 'Bytes' }),
  width: Type.Integer(),
  height: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});

/** `/uploads/<folder>/<yyyy>/<mm>/<file>`: the shape of every key Tollgate makes (storage.driver.ts). */
export const ObjectPath = Type.Object({
  folder: Type.String({ maxLength: 32 }),
  year: Type.String({ maxLength: 4 }),
  month: Type.String({ maxLength: 2 }),
  file: Type.String({ maxLength: 64 }),
});
