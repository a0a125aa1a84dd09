#!/usr/bin/env node
// barge's runtime interface client for Node.js functions: the loop AWS's Node.js runtime runs,
// speaking the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API and calling the handler named by
// $_HANDLER ("[dir/]file.function[.nested]", the file found in $LAMBDA_TASK_ROOT as .js, .mjs or
// .cjs). It behaves as Lambda's nodejs runtimes do:
//
//   - a handler answers by settling the promise it returns (async handlers), by calling the
//     callback, or with context.succeed / context.fail / context.done (which answer at once);
//     a handler that does none of these answers null once the event loop is empty;
//   - a callback's result is sent once the event loop is empty (setTimeouts and sockets the
//     handler left pending have run) unless context.callbackWaitsForEmptyEventLoop is false;
//   - an unhandled promise rejection or an uncaught exception fails the invocation
//     (Runtime.UnhandledPromiseRejection / the error's type) and ends the process (exit status
//     128 / 129), as Lambda's does; barge then starts a new instance;
//   - console output is one log event per call, prefixed "<ISO time>\t<request id>\tLEVEL\t"
//     (newlines inside a message become '\r'), or one JSON object per line when
//     AWS_LAMBDA_LOG_FORMAT is JSON; AWS_LAMBDA_LOG_LEVEL drops the levels below it;
//   - init failures are reported as Runtime.ImportModuleError, Runtime.HandlerNotFound,
//     Runtime.MalformedHandlerName, Runtime.UserCodeSyntaxError or the error thrown.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

// Layers, where Lambda's runtime looks for them (its NODE_PATH): /opt/nodejs/node<major>/node_modules,
// then /opt/nodejs/node_modules.
{
  const opt = process.env.BARGE_OPT_DIR || '/opt';
  const major = process.versions.node.split('.')[0];
  const layers = [path.join(opt, 'nodejs', 'node' + major, 'node_modules'), path.join(opt, 'nodejs', 'node_modules')];
  process.env.NODE_PATH = [...layers, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  require('module')._initPaths();
}

// The AWS SDK for JavaScript v3, which Lambda's Node.js runtimes include: barge's copy, installed
// by `barge runtime install node-sdk` into BARGE_NODE_SDK (default below), is found after the
// function's own node_modules, by require() and by import alike.
const SDK = process.env.BARGE_NODE_SDK || '/usr/local/lib/barge/nodejs/node_modules';
if (fs.existsSync(SDK)) {
  const Module = require('module');
  process.env.NODE_PATH = [process.env.NODE_PATH, SDK].filter(Boolean).join(path.delimiter);
  Module._initPaths(); // require() reads NODE_PATH once, at start
  if (typeof Module.register === 'function') {
    // ES modules ignore NODE_PATH and the global paths: a bare specifier the function's own
    // tree does not have is resolved again from the SDK's directory.
    const parent = pathToFileURL(path.join(path.dirname(SDK), 'index.mjs')).href;
    const loader = `export async function resolve(spec, ctx, next) {
      try { return await next(spec, ctx); } catch (err) {
        if (err.code !== 'ERR_MODULE_NOT_FOUND' || /^[./]|^[a-z]+:/.test(spec)) throw err;
        try { return await next(spec, { ...ctx, parentURL: ${JSON.stringify(parent)} }); } catch { throw err; }
      }
    }`;
    Module.register('data:text/javascript,' + encodeURIComponent(loader));
  }
}

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
// Idle keep-alive sockets are unreferenced by the agent: they never keep the event loop busy,
// so 'beforeExit' tells when the handler has nothing left to do.
const agent = new http.Agent({ keepAlive: true });
const BASE = '/2018-06-01/runtime';

// request makes one Runtime API call. A kept-alive connection the server closed meanwhile is
// retried once on a new one.
function request(method, urlPath, body, headers, retried) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: BASE + urlPath, agent, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (req.reusedSocket && !retried && err.code === 'ECONNRESET') resolve(request(method, urlPath, body, headers, true));
      else reject(err);
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function post(urlPath, body, errorType) {
  const headers = { 'Content-Type': 'application/json' };
  if (errorType) headers['Lambda-Runtime-Function-Error-Type'] = errorType;
  return request('POST', urlPath, body, headers);
}

// ---- logging -------------------------------------------------------------------------------

const LEVELS = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, FATAL: 5 };
const jsonLogs = String(process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
const minLevel = LEVELS[String(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] ?? LEVELS.TRACE;
// requestId is the invocation the log lines belong to: undefined until the first one, then
// the latest (output of work left running after an answer is the previous invocation's).
let requestId;

process.stdout.on('error', () => {}); // a closed pipe must not become an uncaught exception

function writeLine(line) {
  try {
    process.stdout.write(line + '\n');
  } catch {
    // nowhere to log to
  }
}

// emit writes one log event. extra (JSON format only) adds fields such as errorType.
function emit(level, message, extra) {
  if (LEVELS[level] < minLevel) return;
  const timestamp = new Date().toISOString();
  if (jsonLogs) {
    let line;
    try {
      line = JSON.stringify({ timestamp, level, requestId, message, ...extra });
    } catch {
      line = JSON.stringify({ timestamp, level, requestId, message });
    }
    writeLine(line);
    return;
  }
  writeLine(`${timestamp}\t${requestId}\t${level}\t${message.replace(/\n/g, '\r')}`);
}

function logger(level) {
  return (...args) => {
    let extra;
    if (jsonLogs && args.length === 1 && args[0] instanceof Error) {
      const e = args[0];
      extra = { errorType: e.name, errorMessage: e.message, stackTrace: String(e.stack || '').split('\n') };
    }
    emit(level, util.format(...args), extra);
  };
}

console.log = logger('INFO');
console.info = logger('INFO');
console.warn = logger('WARN');
console.error = logger('ERROR');
console.debug = logger('DEBUG');
console.trace = logger('TRACE');
console.fatal = logger('FATAL');

// ---- errors --------------------------------------------------------------------------------

function isError(v) {
  return v instanceof Error || (v !== null && typeof v === 'object' && typeof v.message === 'string' && typeof v.stack === 'string');
}

// errorDoc is what the Runtime API is told of a failure: Lambda's
// {"errorType","errorMessage","trace"}; a thrown value that is no Error is typed by typeof.
function errorDoc(err) {
  try {
    if (isError(err)) {
      return { errorType: String(err.name || 'Error'), errorMessage: String(err.message), trace: String(err.stack || '').split('\n') };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch {
    return { errorType: 'handled', errorMessage: 'the error could not be read (its message, name or stack failed)', trace: [] };
  }
}

// logError logs a failure as Lambda does: "label \t{errorType, errorMessage, stack, ...}" at
// ERROR, or the same fields in the JSON object.
function logError(label, doc, more) {
  const fields = { errorType: doc.errorType, errorMessage: doc.errorMessage, ...more, stack: doc.trace };
  if (jsonLogs) {
    emit('ERROR', label, { errorType: doc.errorType, errorMessage: doc.errorMessage, stackTrace: doc.trace, ...more });
    return;
  }
  let json;
  try {
    json = JSON.stringify(fields);
  } catch {
    json = JSON.stringify({ errorType: doc.errorType, errorMessage: doc.errorMessage, stack: doc.trace });
  }
  emit('ERROR', util.format(label, '\t' + json));
}

// runtimeError is one of the runtime's own errors (Runtime.*), its message worded as Lambda's.
function runtimeError(name, message, cause) {
  const e = new Error(message);
  e.name = name;
  const own = `${name}: ${message}`;
  e.stack = cause && cause.stack ? own + '\n' + String(cause.stack).split('\n').slice(1).join('\n') : own;
  return e;
}

// ---- loading the handler ------------------------------------------------------------------

// isESM reports whether the package.json nearest to dir (up to root) declares "type": "module".
function isESM(dir, root) {
  for (;;) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type === 'module';
    } catch {
      // none here (or unreadable): look further up
    }
    const up = path.dirname(dir);
    if (dir === root || up === dir || !up.startsWith(root)) return false;
    dir = up;
  }
}

async function loadModule(full, ext, root) {
  try {
    if (ext === '.cjs' || (ext === '.js' && !isESM(path.dirname(full), root))) return require(full);
    return await import(pathToFileURL(full).href);
  } catch (err) {
    if (err instanceof SyntaxError) throw runtimeError('Runtime.UserCodeSyntaxError', String(err), err);
    if (err && err.code === 'MODULE_NOT_FOUND') throw runtimeError('Runtime.ImportModuleError', String(err), err);
    if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
      // Errors from the resolve hook (the SDK's, above) cross a thread and lose the code from
      // their text: Node's own says "Error [ERR_MODULE_NOT_FOUND]: …".
      const text = String(err).replace(/^Error: /, 'Error [ERR_MODULE_NOT_FOUND]: ');
      throw runtimeError('Runtime.ImportModuleError', text, err);
    }
    throw err;
  }
}

async function loadHandler() {
  const spec = process.env._HANDLER || '';
  if (spec.includes('..')) throw runtimeError('Runtime.MalformedHandlerName', "'../' not allowed in handler name");
  const base = path.basename(spec);
  const dot = base.indexOf('.');
  if (dot < 1 || dot === base.length - 1) throw runtimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const moduleName = path.join(path.dirname(spec), base.slice(0, dot));
  const root = path.resolve(process.env.LAMBDA_TASK_ROOT || '.');
  let mod;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const full = path.resolve(root, moduleName + ext);
    if (fs.existsSync(full)) {
      mod = await loadModule(full, ext, root);
      break;
    }
  }
  if (mod === undefined) throw runtimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  const lookup = (obj) => base.slice(dot + 1).split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
  let handler = lookup(mod);
  if (handler === undefined && mod && mod.default) handler = lookup(mod.default); // a CommonJS module import()ed
  if (handler === undefined || handler === null) throw runtimeError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  if (typeof handler !== 'function') throw runtimeError('Runtime.HandlerNotFound', `${spec} is not a function`);
  return handler;
}

// ---- invocations --------------------------------------------------------------------------

let handler;
let phase = 'init'; // 'init', then 'ready' (waiting for or running invocations)
let current = null; // the invocation being run, until it is answered
let polling = false; // a /next request is outstanding
let dying = false; // a fatal error is being reported; the process exits after it

class Invocation {
  constructor(id) {
    this.id = id;
    this.answered = false;
    this.sending = null; // the answer's POST, once made
    this.waitsForEmptyLoop = true;
    this.deferred = null; // { result } from a callback that waits for the empty event loop
  }

  // finish posts the answer once; later answers are ignored with a warning, as on Lambda.
  finish(isErr, value) {
    if (dying) return;
    if (this.answered) {
      emit('WARN', 'Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    this.answered = true;
    let body, errorType;
    if (isErr) {
      const doc = errorDoc(value);
      logError('Invoke Error', doc);
      body = JSON.stringify(doc);
      errorType = doc.errorType;
    } else {
      try {
        body = JSON.stringify(value === undefined ? null : value);
      } catch (err) {
        const doc = { errorType: 'Runtime.SerializationError', errorMessage: `Unable to stringify response body: ${err.message}`, trace: [] };
        logError('Invoke Error', doc);
        body = JSON.stringify(doc);
        errorType = doc.errorType;
        isErr = true;
      }
    }
    const where = `/invocation/${this.id}/${isErr ? 'error' : 'response'}`;
    this.sending = post(where, body, errorType).catch(() => {});
    this.sending.then(() => {
      if (current === this) current = null;
      if (!dying) next();
    });
  }

  // callback is the handler's third argument.
  callback(err, result) {
    if (err !== undefined && err !== null) return this.finish(true, err);
    if (!this.waitsForEmptyLoop) return this.finish(false, result);
    this.deferred = { result }; // sent by the 'beforeExit' listener
  }
}

// context is the handler's second argument, as Lambda's nodejs runtimes build it.
function context(inv, headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const parse = (h) => {
    try {
      return h ? JSON.parse(h) : undefined;
    } catch {
      return undefined;
    }
  };
  const ctx = {
    awsRequestId: inv.id,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parse(headers['lambda-runtime-client-context']),
    identity: parse(headers['lambda-runtime-cognito-identity']),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // The legacy completions answer at once, whatever callbackWaitsForEmptyEventLoop says.
    succeed: (result) => inv.finish(false, result),
    fail: (err) => inv.finish(true, err === undefined || err === null ? 'handled' : err),
    done: (err, result) => (err !== undefined && err !== null ? inv.finish(true, err) : inv.finish(false, result)),
  };
  Object.defineProperty(ctx, 'callbackWaitsForEmptyEventLoop', {
    enumerable: true,
    get: () => inv.waitsForEmptyLoop,
    set: (v) => {
      inv.waitsForEmptyLoop = Boolean(v);
    },
  });
  return ctx;
}

function run(res) {
  const id = res.headers['lambda-runtime-aws-request-id'];
  if (res.status !== 200 || !id) {
    setTimeout(next, 100); // the instance is going away, or the API misbehaved: ask again
    return;
  }
  requestId = id;
  const inv = new Invocation(id);
  current = inv;
  const trace = res.headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
  let event;
  try {
    event = res.body.length ? JSON.parse(res.body) : null;
  } catch (err) {
    inv.finish(true, err);
    return;
  }
  let out;
  try {
    out = handler(event, context(inv, res.headers), (err, result) => inv.callback(err, result));
  } catch (err) {
    inv.finish(true, err);
    return;
  }
  if (out !== null && (typeof out === 'object' || typeof out === 'function') && typeof out.then === 'function') {
    Promise.resolve(out).then(
      (result) => inv.finish(false, result),
      (err) => inv.finish(true, err === undefined || err === null ? 'handled' : err),
    );
  }
  // Otherwise the callback, context.succeed/fail/done or the empty event loop answers.
}

function next() {
  if (dying || polling) return;
  polling = true;
  request('GET', '/invocation/next').then(
    (res) => {
      polling = false;
      run(res);
    },
    () => {
      polling = false;
      setTimeout(next, 100); // the long poll was cut; ask again
    },
  );
}

// The event loop is empty: nothing the handler started is pending. A waiting callback's result
// (or, if the handler never answered, null) is sent now.
process.on('beforeExit', () => {
  if (dying || phase !== 'ready') return;
  const inv = current;
  if (inv && !inv.answered) {
    inv.finish(false, inv.deferred ? inv.deferred.result : null);
    return;
  }
  if (!inv) next(); // never leave the loop without a /next outstanding
});

// fatal reports an error that escaped the handler — to the invocation it interrupted, or as the
// init error — and ends the process with code, as Lambda's runtime does.
function fatal(label, doc, code, more) {
  if (dying) return;
  logError(label, doc, more);
  dying = true;
  const exit = () => process.exit(code);
  let sent = Promise.resolve();
  if (phase === 'init') {
    sent = post('/init/error', JSON.stringify(doc), doc.errorType);
  } else if (current && !current.answered) {
    current.answered = true;
    sent = post(`/invocation/${current.id}/error`, JSON.stringify(doc), doc.errorType);
  } else if (current && current.sending) {
    sent = current.sending; // let the answer already on its way arrive
  }
  sent.then(exit, exit);
}

process.on('unhandledRejection', (reason) => {
  const cause = errorDoc(reason);
  let message;
  try {
    message = String(reason);
  } catch {
    message = cause.errorMessage;
  }
  const doc = {
    errorType: 'Runtime.UnhandledPromiseRejection',
    errorMessage: message,
    trace: [`Runtime.UnhandledPromiseRejection: ${message}`, ...cause.trace.slice(1)],
  };
  fatal('Unhandled Promise Rejection', doc, 128, { reason: { errorType: cause.errorType, errorMessage: cause.errorMessage, stack: cause.trace }, promise: {} });
});

process.on('uncaughtException', (err) => {
  fatal('Uncaught Exception', errorDoc(err), 129);
});

async function main() {
  try {
    handler = await loadHandler();
  } catch (err) {
    fatal('Uncaught Exception', errorDoc(err), 129);
    return;
  }
  phase = 'ready';
  next();
}

main();
