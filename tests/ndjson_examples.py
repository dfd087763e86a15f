"""The NDJSON API's three published client examples, verbatim, to run against this server."""

# Copied from the "Testing the Streaming API" section of the API's first documentation;
# each test changes only the address (EXAMPLE_ORIGIN becomes the test server's).

from __future__ import annotations

EXAMPLE_ORIGIN = "https://myuser-streaming-processor.chutes.ai"

CURL = r"""# Test streaming processing
curl -X POST https://myuser-streaming-processor.chutes.ai/process-stream \
  -H "Content-Type: application/json" \
  -d '{
    "text": "I love using this amazing new technology! It has completely transformed how I work. The artificial intelligence capabilities are impressive and the user interface is intuitive. However, there are still some areas that could be improved.",
    "include_sentiment": true,
    "include_summary": true,
    "include_entities": true,
    "chunk_size": 100
  }' \
  --no-buffer
"""  # noqa: E501

AIOHTTP = r'''import asyncio
import aiohttp
import json

async def stream_text_processing():
    """Test the streaming text processing endpoint."""

    payload = {
        "text": """
        Artificial intelligence is rapidly transforming industries across the globe.
        Companies like Google, Microsoft, and OpenAI are leading the charge with
        innovative models and applications. The technology is being used in healthcare,
        finance, education, and many other sectors. While the potential is enormous,
        there are also important ethical considerations that need to be addressed.
        """,
        "include_sentiment": True,
        "include_summary": True,
        "include_entities": True,
        "chunk_size": 150
    }

    async with aiohttp.ClientSession() as session:
        url = "https://myuser-streaming-processor.chutes.ai/process-stream"

        async with session.post(url, json=payload) as response:
            async for line in response.content:
                if line:
                    try:
                        data = json.loads(line.decode())
                        print(f"[{data['status']}] {data.get('message', '')}")

                        # Handle specific result types
                        if data['status'] == 'sentiment_complete':
                            print(f"Overall sentiment: {data['overall_sentiment']}")
                        elif data['status'] == 'summarization_complete':
                            print(f"Summary: {data['summary']}")
                        elif data['status'] == 'entities_complete':
                            print(f"Found {data['total_entities']} entities")

                    except json.JSONDecodeError:
                        continue

# Run the test
asyncio.run(stream_text_processing())
'''

BROWSER = r"""async function streamTextProcessing() {
	const response = await fetch('/process-stream', {
		method: 'POST',
		headers: {
			'Content-Type': 'application/json'
		},
		body: JSON.stringify({
			text: 'Your text here...',
			include_sentiment: true,
			include_summary: true,
			chunk_size: 200
		})
	});

	const reader = response.body.getReader();
	const decoder = new TextDecoder();

	while (true) {
		const { done, value } = await reader.read();
		if (done) break;

		const lines = decoder.decode(value).split('\n');
		for (const line of lines) {
			if (line.trim()) {
				try {
					const data = JSON.parse(line);
					console.log(`[${data.status}]`, data.message || '');

					// Update UI based on status
					updateProgressUI(data);
				} catch (e) {
					// Skip invalid JSON
				}
			}
		}
	}
}

function updateProgressUI(data) {
	const statusDiv = document.getElementById('status');
	const resultsDiv = document.getElementById('results');

	statusDiv.textContent = data.message || data.status;

	if (data.status === 'sentiment_complete') {
		resultsDiv.innerHTML += `<p>Sentiment: ${data.overall_sentiment}</p>`;
	} else if (data.status === 'summarization_complete') {
		resultsDiv.innerHTML += `<p>Summary: ${data.summary}</p>`;
	}
}
"""


def at(snippet: str, origin: str) -> str:
    """The snippet with the example's address replaced by origin; nothing else changes."""
    return snippet.replace(EXAMPLE_ORIGIN, origin)
