// The AI endpoint through the official OpenAI client (npm openai), for
// tests/integration/test_ai.sh. One line of JSON on stdout:
//   node ai_check.mjs chat BASEURL MODEL      {"ok":true,"content":...} or
//                                            {"ok":false,"status":N,"error":{...}}
//   node ai_check.mjs models BASEURL          {"ok":true,"models":[...]}
//   node ai_check.mjs bench BASEURL MODEL N   {"ok":true,"median_ms":...,"p90_ms":...}
import OpenAI from 'openai';

const [mode, baseURL, model, nstr] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'none', maxRetries: 0, timeout: 10000 });
const ask = () => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'who are you?' }] });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

try {
	if (mode === 'chat') {
		const r = await ask();
		out({ ok: true, content: r.choices[0].message.content, model: r.model });
	} else if (mode === 'models') {
		const ids = [];
		for await (const m of client.models.list()) ids.push(m.id);
		out({ ok: true, models: ids.sort() });
	} else if (mode === 'bench') {
		const n = Number(nstr) || 50, t = [];
		await ask();   // warm: the connection pool
		for (let i = 0; i < n; i++) {
			const s = process.hrtime.bigint();
			await ask();
			t.push(Number(process.hrtime.bigint() - s) / 1e6);
		}
		t.sort((a, b) => a - b);
		out({ ok: true, median_ms: t[Math.floor(n / 2)], p90_ms: t[Math.floor(n * 0.9)] });
	} else {
		out({ ok: false, error: `unknown mode ${mode}` });
		process.exitCode = 2;
	}
} catch (e) {
	out({ ok: false, status: e.status ?? null, error: e.error ?? String(e), type: e.constructor.name });
}
