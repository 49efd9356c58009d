/* live updates: written in the next commit */
