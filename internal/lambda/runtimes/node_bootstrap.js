#!/usr/bin/env node
// barge's runtime interface client for Node.js functions: the loop AWS's Node.js runtime runs,
// speaking the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API and calling the handler named by
// $_HANDLER ("file.function", the file found in $LAMBDA_TASK_ROOT as .js, .cjs or .mjs). Async
// handlers, handlers returning a promise and callback-style handlers are supported.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { pathToFileURL } = require('url');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true });
const BASE = '/2018-06-01/runtime';

function request(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: BASE + urlPath, agent, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorDoc(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return JSON.stringify({ errorType: e.name || 'Error', errorMessage: e.message, trace: String(e.stack || '').split('\n') });
}

function post(urlPath, body, errorType) {
  const headers = { 'Content-Type': 'application/json' };
  if (errorType) headers['Lambda-Runtime-Function-Error-Type'] = errorType;
  return request('POST', urlPath, body, headers);
}

async function loadHandler() {
  const spec = process.env._HANDLER || '';
  const dot = spec.lastIndexOf('.');
  if (dot < 1) throw Object.assign(new Error(`Bad handler ${spec}: want file.function`), { name: 'Runtime.MalformedHandlerName' });
  const file = spec.slice(0, dot);
  const fn = spec.slice(dot + 1);
  const root = process.env.LAMBDA_TASK_ROOT || '.';
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const full = path.resolve(root, file + ext);
    if (!fs.existsSync(full)) continue;
    const mod = ext === '.cjs' || (ext === '.js' && !isESM(root)) ? require(full) : await import(pathToFileURL(full).href);
    const handler = mod[fn] || (mod.default && mod.default[fn]);
    if (typeof handler !== 'function') throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
    return handler;
  }
  throw Object.assign(new Error(`Cannot find module '${file}'`), { name: 'Runtime.ImportModuleError' });
}

// isESM reports whether root's package.json declares "type": "module".
function isESM(root) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).type === 'module';
  } catch {
    return false;
  }
}

function context(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  return {
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// call runs the handler however it answers: a promise, a value, or the callback.
function call(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    const callback = (err, result) => (err ? reject(err) : resolve(result));
    try {
      const out = handler(event, ctx, callback);
      if (out && typeof out.then === 'function') out.then(resolve, reject);
      else if (handler.length < 3) resolve(out);
    } catch (err) {
      reject(err);
    }
  });
}

async function main() {
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    console.error(err);
    await post('/init/error', errorDoc(err), err.name && err.name.startsWith('Runtime.') ? err.name : 'Runtime.ImportModuleError');
    process.exit(1);
  }
  for (;;) {
    let next;
    try {
      next = await request('GET', '/invocation/next');
    } catch (err) {
      continue; // the long poll was cut; ask again
    }
    const id = next.headers['lambda-runtime-aws-request-id'];
    let event = null;
    try {
      event = next.body.length ? JSON.parse(next.body) : null;
      const result = await call(handler, event, context(next.headers));
      await post(`/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    } catch (err) {
      console.error(err);
      await post(`/invocation/${id}/error`, errorDoc(err), 'Runtime.UnhandledException');
    }
  }
}

main();
