import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FacesCsvWriter, readFacesCsv, readFacesTable, type FaceRow } from '../../electron/engine/features/faces-table.js';
import { freshDir } from '../helpers/fixtures.js';

/** Rows as the tracker writes them: some frames with two faces, some with none. */
function rows(frames: number): FaceRow[] {
  const out: FaceRow[] = [];
  for (let frame = 1; frame <= frames; frame++) {
    const timestamp = (frame - 1) / 25;
    if (frame % 7 === 0) out.push({ frame, timestamp });
    for (let faceId = 0; faceId < (frame % 7 === 0 ? 0 : frame % 5 === 0 ? 2 : 1); faceId++) {
      const x = 100 + faceId * 200 + Math.sin(frame) * 10;
      out.push({
        frame, timestamp,
        face: { faceId, box: { x, y: 50, w: 120.25, h: 130.5 }, score: 0.9876, roll: 0.05, keypoints: [[x + 30, 90], [x + 90, 91], [x + 60, 120], [x + 40, 150], [x + 80, 151]] },
      });
    }
  }
  return out;
}

const readAll = async (file: string): Promise<FaceRow[]> => {
  const out: FaceRow[] = [];
  for await (const r of readFacesCsv(file)) out.push(r);
  return out;
};

describe('faces.csv written and streamed back', () => {
  it('gives every row of a file many read chunks long, as a whole-file parse does', async () => {
    const file = path.join(freshDir('faces'), 'a.faces.csv');
    const w = new FacesCsvWriter(file);
    for (const r of rows(3000)) w.append(r);
    w.close();
    expect(readFileSync(file).length).toBeGreaterThan(3 * (64 << 10)); // longer than a read stream's chunk: rows cut between chunks
    const streamed = await readAll(file);
    expect(streamed.length).toBe(w.rows);
    expect(streamed).toEqual(readFacesTable(file));
    expect(streamed.filter((r) => !r.face).length).toBe(Math.floor(3000 / 7));
  });

  it('reads a last line without a line break, a file of only the header, and stops cleanly when the reader stops', async () => {
    const dir = freshDir('faces');
    const file = path.join(dir, 'b.faces.csv');
    const w = new FacesCsvWriter(file);
    for (const r of rows(40)) w.append(r);
    w.close();
    const text = readFileSync(file, 'utf8');
    const cut = path.join(dir, 'cut.faces.csv');
    writeFileSync(cut, text.replace(/\n$/, ''));
    expect(await readAll(cut)).toEqual(readFacesTable(file));
    const header = path.join(dir, 'header.faces.csv');
    writeFileSync(header, text.slice(0, text.indexOf('\n') + 1));
    expect(await readAll(header)).toEqual([]);
    for await (const r of readFacesCsv(file)) {
      expect(r.frame).toBe(1);
      break; // the generator's finally closes the file
    }
  });

  it('a damaged file is an error, not rows made up', async () => {
    const file = path.join(freshDir('faces'), 'bad.faces.csv');
    writeFileSync(file, 'frame,timestamp,face_id\n1,0.0,0\n2,0.04\n');
    await expect(readAll(file)).rejects.toThrow(/column|record/i);
  });
});
