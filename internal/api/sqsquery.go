package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
)

// SQS's query protocol (form-encoded Action=…, XML answers), which clients built on the older
// botocore model send (the AWS CLI v2 of Debian 12, boto3 of Debian's packages). The form is
// turned into the JSON protocol's request and the JSON result into the query protocol's XML,
// by the model's member names; the flattened lists and maps of the query model are named below.

const sqsXMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"

// queryLists are the query protocol's flattened lists: form/XML member name → JSON name.
var queryLists = map[string]string{
	"AttributeName": "AttributeNames", "MessageAttributeName": "MessageAttributeNames",
	"MessageSystemAttributeName": "MessageSystemAttributeNames", "TagKey": "TagKeys",
	"AWSAccountId": "AWSAccountIds", "ActionName": "Actions",
}

// queryEntries are the batch operations' entry lists.
var queryEntries = []string{"SendMessageBatchRequestEntry", "DeleteMessageBatchRequestEntry", "ChangeMessageVisibilityBatchRequestEntry"}

// queryInts are the integer members.
var queryInts = map[string]bool{"MaxResults": true, "DelaySeconds": true, "MaxNumberOfMessages": true,
	"VisibilityTimeout": true, "WaitTimeSeconds": true, "MaxNumberOfMessagesPerSecond": true}

// serveSQSQuery answers a query-protocol request.
func (s *Server) serveSQSQuery(w http.ResponseWriter, r *http.Request, req *request) {
	form, err := url.ParseQuery(string(req.body))
	if err != nil {
		writeSQSQueryError(w, r, awserr.New(http.StatusBadRequest, "MalformedQueryString", "the request body is not a form: %v", err))
		return
	}
	for k, v := range r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	action := form.Get("Action")
	flat := map[string]string{}
	for k, v := range form {
		if k != "Action" && k != "Version" && len(v) > 0 {
			flat[k] = v[0]
		}
	}
	doc := queryToJSON(action, flat)
	body, err := json.Marshal(doc)
	if err != nil {
		writeSQSQueryError(w, r, awserr.Server("encoding the request"))
		return
	}
	out, err := s.callSQS(r, action, req.account, body)
	if err != nil {
		writeSQSQueryError(w, r, awserr.As(err))
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0"?><%sResponse xmlns="%s">`, action, sqsXMLNS)
	if v := reflect.Indirect(reflect.ValueOf(out)); v.Kind() == reflect.Struct && v.NumField() > 0 {
		fmt.Fprintf(&b, "<%sResult>", action)
		xmlFields(&b, action, v)
		fmt.Fprintf(&b, "</%sResult>", action)
	}
	fmt.Fprintf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", w.Header().Get("x-amzn-RequestId"), action)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// queryToJSON makes the JSON request of a query form (keys without their action prefix).
func queryToJSON(action string, form map[string]string) map[string]any {
	doc := map[string]any{}
	groups := map[string]map[string]map[string]string{} // member → index → rest → value
	for k, v := range form {
		name, rest, nested := strings.Cut(k, ".")
		if !nested {
			if queryInts[name] {
				if n, err := strconv.Atoi(v); err == nil {
					doc[name] = n
					continue
				}
			}
			doc[name] = v
			continue
		}
		idx, sub, _ := strings.Cut(rest, ".")
		if groups[name] == nil {
			groups[name] = map[string]map[string]string{}
		}
		if groups[name][idx] == nil {
			groups[name][idx] = map[string]string{}
		}
		groups[name][idx][sub] = v
	}
	for name, byIdx := range groups {
		idxs := slices.SortedFunc(func(yield func(string) bool) {
			for i := range byIdx {
				if !yield(i) {
					return
				}
			}
		}, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
		switch {
		case queryLists[name] != "":
			var l []string
			for _, i := range idxs {
				l = append(l, byIdx[i][""])
			}
			doc[queryLists[name]] = l
		case name == "Attribute" || name == "Tag":
			key, jsonName := "Name", "Attributes"
			if name == "Tag" {
				key, jsonName = "Key", "Tags"
				if action == "CreateQueue" {
					jsonName = "tags"
				}
			}
			m := map[string]string{}
			for _, i := range idxs {
				m[byIdx[i][key]] = byIdx[i]["Value"]
			}
			doc[jsonName] = m
		case name == "MessageAttribute" || name == "MessageSystemAttribute":
			doc[name+"s"] = queryAttrs(byIdx)
		case slices.Contains(queryEntries, name):
			var entries []map[string]any
			for _, i := range idxs {
				entries = append(entries, queryToJSON(action, byIdx[i]))
			}
			doc["Entries"] = entries
		}
	}
	return doc
}

// queryAttrs makes message attributes of MessageAttribute.N.Name / .Value.StringValue / ….
func queryAttrs(byIdx map[string]map[string]string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, e := range byIdx {
		v := map[string]any{}
		for k, s := range e {
			if f, ok := strings.CutPrefix(k, "Value."); ok && !strings.Contains(f, ".") {
				v[f] = s // BinaryValue stays base64, as JSON carries bytes
			}
		}
		out[e["Name"]] = v
	}
	return out
}

// queryElems names the XML elements of a result's lists and maps (JSON member → element).
var queryElems = map[string]string{
	"QueueUrls": "QueueUrl", "queueUrls": "QueueUrl", "Messages": "Message", "Failed": "BatchResultErrorEntry",
	"Attributes": "Attribute", "Tags": "Tag", "MessageAttributes": "MessageAttribute", "Results": "Result",
}

// xmlFields writes a struct's members as the query protocol's XML.
func xmlFields(b *bytes.Buffer, action string, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		f := v.Field(i)
		if name == "" || name == "-" || f.IsZero() {
			continue
		}
		elem := queryElems[name]
		if name == "Successful" {
			elem = action + "ResultEntry"
		}
		if elem == "" {
			elem = name
		}
		switch f.Kind() {
		case reflect.Map:
			key := "Name"
			if name == "Tags" {
				key = "Key"
			}
			for _, k := range slices.Sorted(func(yield func(string) bool) {
				for _, k := range f.MapKeys() {
					if !yield(k.String()) {
						return
					}
				}
			}) {
				fmt.Fprintf(b, "<%s><%s>%s</%s><Value>", elem, key, esc(k), key)
				xmlValue(b, action, f.MapIndex(reflect.ValueOf(k)))
				fmt.Fprintf(b, "</Value></%s>", elem)
			}
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.Uint8 {
				fmt.Fprintf(b, "<%s>%s</%s>", elem, base64.StdEncoding.EncodeToString(f.Bytes()), elem)
				continue
			}
			for j := range f.Len() {
				fmt.Fprintf(b, "<%s>", elem)
				xmlValue(b, action, f.Index(j))
				fmt.Fprintf(b, "</%s>", elem)
			}
		default:
			fmt.Fprintf(b, "<%s>", elem)
			xmlValue(b, action, f)
			fmt.Fprintf(b, "</%s>", elem)
		}
	}
}

func xmlValue(b *bytes.Buffer, action string, v reflect.Value) {
	v = reflect.Indirect(v)
	switch v.Kind() {
	case reflect.Struct:
		xmlFields(b, action, v)
	case reflect.String:
		b.WriteString(esc(v.String()))
	default:
		fmt.Fprint(b, v.Interface())
	}
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeSQSQueryError renders an error as the query protocol does.
func writeSQSQueryError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0"?><ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message><Detail/></Error><RequestId>%s</RequestId></ErrorResponse>`,
		sqsXMLNS, faultOf(e), esc(sqsQueryCode(e.Code)), esc(e.Message), w.Header().Get("x-amzn-RequestId"))
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(e.Status)
	w.Write(b.Bytes())
}

// withQueueURL adds QueueUrl to a JSON request sent to a queue's URL, unless it has one.
func withQueueURL(body []byte, queueURL string) []byte {
	doc := map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 && json.Unmarshal(body, &doc) != nil {
		return body
	}
	if _, ok := doc["QueueUrl"]; ok {
		return body
	}
	doc["QueueUrl"] = queueURL
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}
