"""The S3 API: requests routed by method, path and query to handlers over the SDK's client, answered
with S3's XML documents and errors."""
