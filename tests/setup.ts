// Tests share one cache of converted models (converting takes seconds) but never the user's own cache.
import os from 'node:os';
import path from 'node:path';

process.env.AFFECT_STUDIO_CACHE ??= path.join(os.tmpdir(), 'affect-studio-test-cache');
