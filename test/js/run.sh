#!/usr/bin/env bash
echo "js suite not written yet"; exit 1
